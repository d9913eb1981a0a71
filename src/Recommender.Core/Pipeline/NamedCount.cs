namespace Recommender.Pipeline;

public sealed record NamedCount(string Name, long Count);
