namespace Recommender.Pipeline;

public sealed record MonthActivity(string Month, long Users, long Events);
