namespace Recommender.Host.Configuration;

/// <summary>Where the nightly pipeline runs.</summary>
public enum RetrainMode
{
    /// <summary>
    /// A `train --all-events` child process of this executable at idle CPU priority (SCHED_IDLE): its ~13 GB
    /// heap and its garbage collections stay out of the serving process, and a crash of the
    /// pipeline cannot take the service down.
    /// </summary>
    ChildProcess,

    /// <summary>Inside the service process (small data, tests): blocking collections pause requests.</summary>
    InProcess,
}
