using System.Net;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Recommender.Client;
using Recommender.Host.State;
using Recommender.V1;

namespace Recommender.Tests.Host;

public sealed class RunHistoryTests
{
    private static RunStatus Run(int i, RunState state = RunState.Running) =>
        new($"run-{i}", state, "", new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(i), null);

    [Test]
    public void Runs_are_listed_newest_first_and_an_ending_run_replaces_its_start()
    {
        var history = new RunHistory();
        history.Record(Run(1));
        history.Record(Run(1, RunState.Succeeded) with { SnapshotId = "s1" });
        history.Record(Run(2));
        var runs = history.Latest(10);
        Assert.That(runs.Select(r => r.RunId), Is.EqualTo(new[] { "run-2", "run-1" }));
        Assert.That(runs[1].State, Is.EqualTo(RunState.Succeeded));
        Assert.That(runs[1].SnapshotId, Is.EqualTo("s1"));
        Assert.That(history.Latest(1).Select(r => r.RunId), Is.EqualTo(new[] { "run-2" }));
    }

    [Test]
    public void The_history_keeps_the_latest_runs_only()
    {
        var history = new RunHistory();
        for (var i = 0; i < RunHistory.Capacity + 7; i++)
        {
            history.Record(Run(i));
        }

        var runs = history.Latest(int.MaxValue);
        Assert.That(runs, Has.Count.EqualTo(RunHistory.Capacity));
        Assert.That(runs[0].RunId, Is.EqualTo($"run-{RunHistory.Capacity + 6}"));
        Assert.That(runs[^1].RunId, Is.EqualTo("run-7"));
    }
}

/// <summary>ListRuns on a real Kestrel: every retrain, nightly or RetrainNow, with the snapshot it produced.</summary>
public sealed class ListRunsTests
{
    [Test]
    public async Task Each_retrain_is_listed_newest_first_with_its_trigger_and_snapshot()
    {
        var config = ServiceData.Config(ServiceData.CopyArtifacts());
        config["Recommender:RetrainMode"] = "InProcess";
        await using var service = await RunningService.StartAsync(config);
        Assert.That(await service.Client.ListRunsAsync(), Is.Empty, "no run since start");

        var firstId = await service.Client.RetrainNowAsync();

        // While it runs: the stage it is in, read from the run's progress file, and the time left
        // estimated from the serving snapshot's stage timings.
        RunProgress? progress = null;
        for (var poll = 0; poll < 2000 && progress is null; poll++)
        {
            progress = await service.Client.GetRunProgressAsync();
            await Task.Delay(5);
        }

        Assert.That(progress, Is.Not.Null, "a running retrain reports its stage");
        Assert.That(progress!.RunId, Is.EqualTo(firstId));
        Assert.That(progress.Stage, Is.Not.Empty);
        Assert.That(progress.StagesExpected, Is.GreaterThan(10), "the serving snapshot's stages");
        Assert.That(progress.SecondsLeft, Is.GreaterThanOrEqualTo(0));
        var first = await service.WaitForRunAsync(firstId);
        Assert.That(await service.Client.GetRunProgressAsync(), Is.Null, "no progress once the run ended");
        Assert.That(File.Exists(Recommender.Host.Retraining.RetrainCoordinator.ProgressPath(firstId)), Is.False, "the progress file goes with the run");
        Assert.That(first.LastRunState, Is.EqualTo("succeeded"), first.LastRunError);

        // What the cron trigger does at 03:00: the job claims the slot itself.
        var scheduler = await service.App.Services.GetRequiredService<Quartz.ISchedulerFactory>().GetScheduler();
        await scheduler.TriggerJob(Recommender.Host.Retraining.RetrainJob.Key);
        ServiceStatus nightly;
        do
        {
            await Task.Delay(100);
            nightly = await service.Client.GetStatusAsync();
        }
        while (nightly.LastRunId == first.LastRunId || nightly.LastRunState is "running");

        var runs = await service.Client.ListRunsAsync();
        Assert.That(runs.Select(r => r.RunId), Is.EqualTo(new[] { nightly.LastRunId, first.LastRunId }));
        Assert.That(runs.Select(r => r.Trigger), Is.EqualTo(new[] { "nightly", "retrain_now" }));
        Assert.That(runs.Select(r => r.State), Is.All.EqualTo("succeeded"));
        Assert.That(runs[0].SnapshotId, Is.EqualTo(nightly.SnapshotId), "the newest run produced the serving snapshot");
        Assert.That(runs[1].SnapshotId, Is.EqualTo(first.SnapshotId));
        Assert.That(runs.Select(r => r.Finished.ToDateTime() >= r.Started.ToDateTime() && r.Seconds > 0), Is.All.True);
        Assert.That(runs[0].Started.ToDateTime(), Is.GreaterThanOrEqualTo(runs[1].Finished.ToDateTime()));
        Assert.That((await service.Client.ListRunsAsync(1)).Select(r => r.RunId), Is.EqualTo(new[] { nightly.LastRunId }));

        var negative = Assert.ThrowsAsync<RpcException>(() => service.Client.ListRunsAsync(-1));
        Assert.That(negative!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(negative.Status.Detail, Does.Contain("limit"));

        // The JSON route: the token is needed there too.
        using var http = new HttpClient { BaseAddress = new Uri(service.HttpAddress) };
        Assert.That((await http.GetAsync(new Uri("/v1/ops/runs", UriKind.Relative))).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/v1/ops/runs?limit=1", UriKind.Relative));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ServiceData.Token);
        var json = await (await http.SendAsync(request)).Content.ReadAsStringAsync();
        Assert.That(json, Does.Contain($"\"runId\":\"{nightly.LastRunId}\"").And.Contain("\"trigger\":\"nightly\"").And.Not.Contain(first.LastRunId));
    }
}
