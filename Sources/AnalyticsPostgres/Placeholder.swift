public enum AnalyticsPostgresPlaceholder {}
