/// A Unicode property as ECMA-262's `\p{…}` names it in `u` mode, answered from the Unicode data of Swift's
/// standard library (`Unicode.Scalar.Properties`).
///
/// Supported: every General_Category value by its long name, short name or alias, alone or as
/// `General_Category=`/`gc=`, and the binary properties the standard library exposes (plus `Any`, `ASCII`,
/// `Assigned` and `Regional_Indicator`, which follow from their definitions). Refused, as a syntax error:
/// `Script=`/`sc=`/`Script_Extensions=`/`scx=` (the standard library does not expose scripts),
/// `Emoji_Component` and `Extended_Pictographic` (not exposed either), properties of strings, and any
/// name ECMA-262 does not list. Names are matched exactly, as ECMA-262 requires (no loose matching).
enum UnicodeProperty: Sendable, Hashable {
    /// Scalars whose General_Category is in the set (bits indexed by `categoryBit`).
    case categories(UInt32)
    case binary(BinaryUnicodeProperty)

    func contains(_ value: UInt32) -> Bool {
        guard let scalar = Unicode.Scalar(value) else {
            // Only surrogate code points have no scalar; their category is Cs (Surrogate).
            switch self {
            case .categories(let mask): return mask & Self.surrogateBit != 0
            case .binary(let property): return property == .any || property == .assigned
            }
        }
        switch self {
        case .categories(let mask): return mask & Self.bit(of: scalar.properties.generalCategory) != 0
        case .binary(let property): return property.holds(for: scalar)
        }
    }

    /// Parses the text between the braces of `\p{…}`: the property, or why it is refused (a name ECMA-262
    /// does not know, or one this engine cannot answer exactly).
    static func parse(_ text: String) -> Result<UnicodeProperty, Refusal> {
        if let equals = text.firstIndex(of: "=") {
            let name = String(text[..<equals])
            let value = String(text[text.index(after: equals)...])
            switch name {
            case "General_Category", "gc":
                guard let mask = categoryMasks[value] else { return .failure(.unknown) }
                return .success(.categories(mask))
            case "Script", "sc", "Script_Extensions", "scx":
                return .failure(.unsupported("Unicode scripts (\(name)=) are not supported"))
            default:
                return .failure(.unknown)
            }
        }
        if let mask = categoryMasks[text] { return .success(.categories(mask)) }
        if let property = BinaryUnicodeProperty.byName[text] { return .success(.binary(property)) }
        if ["Emoji_Component", "EComp", "Extended_Pictographic", "ExtPict"].contains(text) {
            return .failure(.unsupported("the Unicode property \(text) is not supported"))
        }
        return .failure(.unknown)
    }

    enum Refusal: Error {
        /// Not a property name ECMA-262 allows.
        case unknown
        /// A valid name this engine cannot answer exactly.
        case unsupported(String)
    }

    private static let surrogateBit: UInt32 = 1 << 18

    /// One bit per General_Category value.
    static func bit(of category: Unicode.GeneralCategory) -> UInt32 {
        let index: UInt32
        switch category {
        case .uppercaseLetter: index = 0
        case .lowercaseLetter: index = 1
        case .titlecaseLetter: index = 2
        case .modifierLetter: index = 3
        case .otherLetter: index = 4
        case .nonspacingMark: index = 5
        case .spacingMark: index = 6
        case .enclosingMark: index = 7
        case .decimalNumber: index = 8
        case .letterNumber: index = 9
        case .otherNumber: index = 10
        case .connectorPunctuation: index = 11
        case .dashPunctuation: index = 12
        case .openPunctuation: index = 13
        case .closePunctuation: index = 14
        case .initialPunctuation: index = 15
        case .finalPunctuation: index = 16
        case .otherPunctuation: index = 17
        case .surrogate: index = 18
        case .mathSymbol: index = 19
        case .currencySymbol: index = 20
        case .modifierSymbol: index = 21
        case .otherSymbol: index = 22
        case .spaceSeparator: index = 23
        case .lineSeparator: index = 24
        case .paragraphSeparator: index = 25
        case .control: index = 26
        case .format: index = 27
        case .privateUse: index = 28
        case .unassigned: index = 29
        @unknown default: index = 29
        }
        return 1 << index
    }

    /// ECMA-262's table of General_Category values and aliases (from Unicode's PropertyValueAliases.txt).
    static let categoryMasks: [String: UInt32] = {
        let lu = bit(of: .uppercaseLetter), ll = bit(of: .lowercaseLetter), lt = bit(of: .titlecaseLetter)
        let lm = bit(of: .modifierLetter), lo = bit(of: .otherLetter)
        let mn = bit(of: .nonspacingMark), mc = bit(of: .spacingMark), me = bit(of: .enclosingMark)
        let nd = bit(of: .decimalNumber), nl = bit(of: .letterNumber), no = bit(of: .otherNumber)
        let pc = bit(of: .connectorPunctuation), pd = bit(of: .dashPunctuation), ps = bit(of: .openPunctuation)
        let pe = bit(of: .closePunctuation), pi = bit(of: .initialPunctuation), pf = bit(of: .finalPunctuation)
        let po = bit(of: .otherPunctuation)
        let sm = bit(of: .mathSymbol), sc = bit(of: .currencySymbol), sk = bit(of: .modifierSymbol)
        let so = bit(of: .otherSymbol)
        let zs = bit(of: .spaceSeparator), zl = bit(of: .lineSeparator), zp = bit(of: .paragraphSeparator)
        let cc = bit(of: .control), cf = bit(of: .format), cs = bit(of: .surrogate), co = bit(of: .privateUse)
        let cn = bit(of: .unassigned)
        let table: [([String], UInt32)] = [
            (["Cased_Letter", "LC"], lu | ll | lt),
            (["Close_Punctuation", "Pe"], pe),
            (["Connector_Punctuation", "Pc"], pc),
            (["Control", "Cc", "cntrl"], cc),
            (["Currency_Symbol", "Sc"], sc),
            (["Dash_Punctuation", "Pd"], pd),
            (["Decimal_Number", "Nd", "digit"], nd),
            (["Enclosing_Mark", "Me"], me),
            (["Final_Punctuation", "Pf"], pf),
            (["Format", "Cf"], cf),
            (["Initial_Punctuation", "Pi"], pi),
            (["Letter", "L"], lu | ll | lt | lm | lo),
            (["Letter_Number", "Nl"], nl),
            (["Line_Separator", "Zl"], zl),
            (["Lowercase_Letter", "Ll"], ll),
            (["Mark", "M", "Combining_Mark"], mn | mc | me),
            (["Math_Symbol", "Sm"], sm),
            (["Modifier_Letter", "Lm"], lm),
            (["Modifier_Symbol", "Sk"], sk),
            (["Nonspacing_Mark", "Mn"], mn),
            (["Number", "N"], nd | nl | no),
            (["Open_Punctuation", "Ps"], ps),
            (["Other", "C"], cc | cf | cs | co | cn),
            (["Other_Letter", "Lo"], lo),
            (["Other_Number", "No"], no),
            (["Other_Punctuation", "Po"], po),
            (["Other_Symbol", "So"], so),
            (["Paragraph_Separator", "Zp"], zp),
            (["Private_Use", "Co"], co),
            (["Punctuation", "P", "punct"], pc | pd | ps | pe | pi | pf | po),
            (["Separator", "Z"], zs | zl | zp),
            (["Space_Separator", "Zs"], zs),
            (["Spacing_Mark", "Mc"], mc),
            (["Surrogate", "Cs"], cs),
            (["Symbol", "S"], sm | sc | sk | so),
            (["Titlecase_Letter", "Lt"], lt),
            (["Unassigned", "Cn"], cn),
            (["Uppercase_Letter", "Lu"], lu),
        ]
        var masks: [String: UInt32] = [:]
        for (names, mask) in table {
            for name in names { masks[name] = mask }
        }
        return masks
    }()
}

/// ECMA-262's binary Unicode properties that this engine answers.
enum BinaryUnicodeProperty: String, Sendable, CaseIterable {
    case ascii = "ASCII", asciiHexDigit = "ASCII_Hex_Digit", alphabetic = "Alphabetic", any = "Any"
    case assigned = "Assigned", bidiControl = "Bidi_Control", bidiMirrored = "Bidi_Mirrored"
    case caseIgnorable = "Case_Ignorable", cased = "Cased", changesWhenCasefolded = "Changes_When_Casefolded"
    case changesWhenCasemapped = "Changes_When_Casemapped", changesWhenLowercased = "Changes_When_Lowercased"
    case changesWhenNFKCCasefolded = "Changes_When_NFKC_Casefolded"
    case changesWhenTitlecased = "Changes_When_Titlecased", changesWhenUppercased = "Changes_When_Uppercased"
    case dash = "Dash", defaultIgnorableCodePoint = "Default_Ignorable_Code_Point", deprecated = "Deprecated"
    case diacritic = "Diacritic", emoji = "Emoji", emojiModifier = "Emoji_Modifier"
    case emojiModifierBase = "Emoji_Modifier_Base", emojiPresentation = "Emoji_Presentation"
    case extender = "Extender", graphemeBase = "Grapheme_Base", graphemeExtend = "Grapheme_Extend"
    case hexDigit = "Hex_Digit", idsBinaryOperator = "IDS_Binary_Operator"
    case idsTrinaryOperator = "IDS_Trinary_Operator", idContinue = "ID_Continue", idStart = "ID_Start"
    case ideographic = "Ideographic", joinControl = "Join_Control"
    case logicalOrderException = "Logical_Order_Exception", lowercase = "Lowercase", math = "Math"
    case noncharacterCodePoint = "Noncharacter_Code_Point", patternSyntax = "Pattern_Syntax"
    case patternWhiteSpace = "Pattern_White_Space", quotationMark = "Quotation_Mark", radical = "Radical"
    case regionalIndicator = "Regional_Indicator", sentenceTerminal = "Sentence_Terminal"
    case softDotted = "Soft_Dotted", terminalPunctuation = "Terminal_Punctuation"
    case unifiedIdeograph = "Unified_Ideograph", uppercase = "Uppercase", variationSelector = "Variation_Selector"
    case whiteSpace = "White_Space", xidContinue = "XID_Continue", xidStart = "XID_Start"

    /// The short aliases ECMA-262 accepts besides the long names.
    private static let aliases: [String: BinaryUnicodeProperty] = [
        "AHex": .asciiHexDigit, "Alpha": .alphabetic, "Bidi_C": .bidiControl, "Bidi_M": .bidiMirrored,
        "CI": .caseIgnorable, "CWCF": .changesWhenCasefolded, "CWCM": .changesWhenCasemapped,
        "CWL": .changesWhenLowercased, "CWKCF": .changesWhenNFKCCasefolded, "CWT": .changesWhenTitlecased,
        "CWU": .changesWhenUppercased, "DI": .defaultIgnorableCodePoint, "Dep": .deprecated, "Dia": .diacritic,
        "EMod": .emojiModifier, "EBase": .emojiModifierBase, "EPres": .emojiPresentation, "Ext": .extender,
        "Gr_Base": .graphemeBase, "Gr_Ext": .graphemeExtend, "Hex": .hexDigit, "IDSB": .idsBinaryOperator,
        "IDST": .idsTrinaryOperator, "IDC": .idContinue, "IDS": .idStart, "Ideo": .ideographic,
        "Join_C": .joinControl, "LOE": .logicalOrderException, "Lower": .lowercase,
        "NChar": .noncharacterCodePoint, "Pat_Syn": .patternSyntax, "Pat_WS": .patternWhiteSpace,
        "QMark": .quotationMark, "RI": .regionalIndicator, "STerm": .sentenceTerminal, "SD": .softDotted,
        "Term": .terminalPunctuation, "UIdeo": .unifiedIdeograph, "Upper": .uppercase,
        "VS": .variationSelector, "space": .whiteSpace, "XIDC": .xidContinue, "XIDS": .xidStart,
    ]

    static let byName: [String: BinaryUnicodeProperty] = {
        var names = aliases
        for property in allCases { names[property.rawValue] = property }
        return names
    }()

    func holds(for scalar: Unicode.Scalar) -> Bool {
        let p = scalar.properties
        switch self {
        case .ascii: return scalar.value <= 0x7F
        case .asciiHexDigit: return p.isASCIIHexDigit
        case .alphabetic: return p.isAlphabetic
        case .any: return true
        case .assigned: return p.generalCategory != .unassigned
        case .bidiControl: return p.isBidiControl
        case .bidiMirrored: return p.isBidiMirrored
        case .caseIgnorable: return p.isCaseIgnorable
        case .cased: return p.isCased
        case .changesWhenCasefolded: return p.changesWhenCaseFolded
        case .changesWhenCasemapped: return p.changesWhenCaseMapped
        case .changesWhenLowercased: return p.changesWhenLowercased
        case .changesWhenNFKCCasefolded: return p.changesWhenNFKCCaseFolded
        case .changesWhenTitlecased: return p.changesWhenTitlecased
        case .changesWhenUppercased: return p.changesWhenUppercased
        case .dash: return p.isDash
        case .defaultIgnorableCodePoint: return p.isDefaultIgnorableCodePoint
        case .deprecated: return p.isDeprecated
        case .diacritic: return p.isDiacritic
        case .emoji: return p.isEmoji
        case .emojiModifier: return p.isEmojiModifier
        case .emojiModifierBase: return p.isEmojiModifierBase
        case .emojiPresentation: return p.isEmojiPresentation
        case .extender: return p.isExtender
        case .graphemeBase: return p.isGraphemeBase
        case .graphemeExtend: return p.isGraphemeExtend
        case .hexDigit: return p.isHexDigit
        case .idsBinaryOperator: return p.isIDSBinaryOperator
        case .idsTrinaryOperator: return p.isIDSTrinaryOperator
        case .idContinue: return p.isIDContinue
        case .idStart: return p.isIDStart
        case .ideographic: return p.isIdeographic
        case .joinControl: return p.isJoinControl
        case .logicalOrderException: return p.isLogicalOrderException
        case .lowercase: return p.isLowercase
        case .math: return p.isMath
        case .noncharacterCodePoint: return p.isNoncharacterCodePoint
        case .patternSyntax: return p.isPatternSyntax
        case .patternWhiteSpace: return p.isPatternWhitespace
        case .quotationMark: return p.isQuotationMark
        case .radical: return p.isRadical
        // Regional_Indicator is exactly U+1F1E6...U+1F1FF, the 26 regional indicator symbols.
        case .regionalIndicator: return (0x1F1E6...0x1F1FF).contains(scalar.value)
        case .sentenceTerminal: return p.isSentenceTerminal
        case .softDotted: return p.isSoftDotted
        case .terminalPunctuation: return p.isTerminalPunctuation
        case .unifiedIdeograph: return p.isUnifiedIdeograph
        case .uppercase: return p.isUppercase
        case .variationSelector: return p.isVariationSelector
        case .whiteSpace: return p.isWhitespace
        case .xidContinue: return p.isXIDContinue
        case .xidStart: return p.isXIDStart
        }
    }
}
