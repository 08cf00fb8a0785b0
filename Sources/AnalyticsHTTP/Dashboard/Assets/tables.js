// A breakdown (top paths, event types) as a table with proportional bars, a page at a time through the
// API's cursors: "Next" follows next_cursor, "Previous" goes back along the cursors already seen. Every
// change of what the table shows bumps its epoch, so that an answer to an older question is dropped.

import { count } from "./format.js";

export const PAGE_SIZE = 10;

export class BreakdownTable {
  /** `section` holds a tbody, Previous and Next buttons and a page label; `load(cursor)` fetches a page. */
  constructor(section, load) {
    this.body = section.querySelector("tbody");
    this.previousButton = section.querySelector("[data-page=previous]");
    this.nextButton = section.querySelector("[data-page=next]");
    this.label = section.querySelector(".page");
    this.load = load;
    this.cursors = [null];
    this.nextCursor = null;
    this.epoch = 0;
    this.previousButton.addEventListener("click", () => this.turn(-1));
    this.nextButton.addEventListener("click", () => this.turn(1));
  }

  /** Back to the first page (a new range or site). */
  reset() {
    this.cursors = [null];
    this.nextCursor = null;
    this.epoch += 1;
  }

  /** What a request made now asks for: the page's cursor, and the epoch its answer must still be in. */
  snapshot() {
    return { cursor: this.cursors[this.cursors.length - 1], epoch: this.epoch };
  }

  async turn(direction) {
    if (direction > 0 && !this.nextCursor) return;
    if (direction < 0 && this.cursors.length === 1) return;
    const cursors = direction > 0 ? [...this.cursors, this.nextCursor] : this.cursors.slice(0, -1);
    const epoch = this.epoch;
    const page = await this.load(cursors[cursors.length - 1]);
    if (!page || epoch !== this.epoch) return;
    this.epoch += 1;
    this.cursors = cursors;
    this.show(page, { epoch: this.epoch });
    (direction > 0 && !this.nextCursor ? this.previousButton : direction < 0 && this.cursors.length === 1 ? this.nextButton : null)?.focus();
  }

  /** Shows one page of the API's answer to a request made at `snapshot`, unless the table has moved on. */
  show(page, snapshot) {
    if (snapshot.epoch !== this.epoch) return;
    this.nextCursor = page.next_cursor;
    const top = Math.max(1, ...page.rows.map((row) => row.views));
    const rows = page.rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.value = row.value;
      tr.dataset.views = row.views;
      tr.dataset.users = row.unique_users;
      const name = document.createElement("th");
      name.scope = "row";
      const bar = document.createElement("span");
      bar.className = "bar";
      // CSSOM, which a strict Content-Security-Policy allows (a style attribute it would not).
      bar.style.width = `${(row.views / top) * 100}%`;
      const text = document.createElement("span");
      text.className = "value";
      text.textContent = row.value;
      text.title = row.value;
      name.append(bar, text);
      const views = document.createElement("td");
      views.textContent = count(row.views);
      const users = document.createElement("td");
      users.textContent = count(row.unique_users);
      tr.append(name, views, users);
      return tr;
    });
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 3;
      td.className = "empty";
      td.textContent = "Nothing in this period.";
      tr.append(td);
      rows.push(tr);
    }
    this.body.replaceChildren(...rows);
    const first = (this.cursors.length - 1) * PAGE_SIZE + 1;
    this.label.textContent = page.rows.length ? `${first}\u2013${first + page.rows.length - 1}` : "";
    this.previousButton.disabled = this.cursors.length === 1;
    this.nextButton.disabled = !this.nextCursor;
  }
}
