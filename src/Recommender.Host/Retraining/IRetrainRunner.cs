using Recommender.Host.Configuration;

namespace Recommender.Host.Retraining;

/// <summary>Builds and publishes a new snapshot; returns its folder.</summary>
public interface IRetrainRunner
{
    string Run(RecommenderOptions o, string onlineLog, string runId, CancellationToken cancellation);
}
