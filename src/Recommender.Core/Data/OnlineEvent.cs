namespace Recommender.Data;

/// <summary>A listen received online (LogListen): raw ids and its UTC time.</summary>
public readonly record struct OnlineEvent(long UserId, long TrackId, DateTime TimeUtc);
