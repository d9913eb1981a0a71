using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Recommender.Host;
using Recommender.Host.Configuration;
using Recommender.Host.Retraining;
using Recommender.Host.State;
using Recommender.Tests.Host;
using Recommender.Tests.Support;

namespace Recommender.Tests.Reliability;

/// <summary>The ops token cannot be walked around, and a service with a guessable token does not start.</summary>
[NonParallelizable]
public class OpsAuthTests
{
    private static readonly string[] Spellings =
    [
        "/recommender.v1.OpsService/{0}",
        "/recommender.v1.opsservice/{0}",
        "/RECOMMENDER.V1.OPSSERVICE/{0}",
        "/Recommender.V1.OpsService/{0}",
        "/recommender.v1.OpsService/{1}",
        "/recommender.v1.OpsService/{2}",
        "//recommender.v1.OpsService/{0}",
        "/recommender.v1.OpsService/{0}/",
        "/recommender.v1.OpsService%2F{0}",
    ];

    [Test]
    public async Task OpsMethods_InEverySpellingOfThePath_WithoutTheToken_AreRefused()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(ServiceData.CopyArtifacts()));
        var answered = new List<string>();
        foreach (var method in Recommender.V1.OpsService.Descriptor.Methods.Select(m => m.Name)) // every ops RPC, those added later too
        {
            foreach (var spelling in Spellings)
            {
                var path = string.Format(System.Globalization.CultureInfo.InvariantCulture, spelling, method, method.ToLowerInvariant(), method.ToUpperInvariant());
                foreach (var auth in new string?[] { null, "Bearer wrong-token-0123456789", $"bearer {ServiceData.Token}", ServiceData.Token, $"Bearer {ServiceData.Token} " })
                {
                    var (status, _) = await RawGrpc.PostAsync(service.Address, path, authorization: auth);
                    answered.Add($"{path} [{auth ?? "no token"}] -> {status}");
                    Assert.That(status, Is.EqualTo((int)StatusCode.Unauthenticated).Or.EqualTo((int)StatusCode.Unimplemented).Or.EqualTo(-404),
                        $"{path} with authorization '{auth}' must not be answered");
                }
            }
        }

        // The router does send other spellings to the ops service: they reach the check (not a 404).
        Assert.That(answered.Count(a => a.StartsWith("/recommender.v1.opsservice/", StringComparison.Ordinal) && a.EndsWith("-> 16", StringComparison.Ordinal)), Is.GreaterThan(0), string.Join("\n", answered));
        var coordinator = service.App.Services.GetRequiredService<RetrainCoordinator>();
        Assert.That(coordinator.Last.State, Is.EqualTo(RunState.Idle), "no retrain was started");

        // The right token in the canonical and in another spelling works.
        var (ok, _) = await RawGrpc.PostAsync(service.Address, "/recommender.v1.opsservice/GetStatus", authorization: $"Bearer {ServiceData.Token}");
        Assert.That(ok, Is.EqualTo((int)StatusCode.OK));
    }

    [Test]
    public async Task RecommendationMethods_NeedNoToken_InAnySpelling()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(ServiceData.CopyArtifacts()));
        var message = new Recommender.V1.GetPopularRequest { K = 3 }.ToByteArray();
        var (status, _) = await RawGrpc.PostAsync(service.Address, "/recommender.v1.recommendationservice/GetPopular", message);
        Assert.That(status, Is.EqualTo((int)StatusCode.OK));
    }

    [TestCase("Production", OpsOptionsValidator.DevelopmentToken, "public development token")]
    [TestCase("Staging", OpsOptionsValidator.DevelopmentToken, "public development token")]
    [TestCase("Production", "", "Ops:Token must be set")]
    [TestCase("Development", "short", "Ops:Token must be set")]
    public void AGuessableToken_StopsTheStart_NamingTheKey(string environment, string token, string expected)
    {
        var config = ServiceData.Config(ServiceData.CopyArtifacts());
        config["Ops:Token"] = token;
        var error = Assert.Throws<OptionsValidationException>(() =>
        {
            using var app = RecommenderHost.Build([], config, environment: environment);
            _ = app.Services.GetRequiredService<IOptions<OpsOptions>>().Value;
        });
        Assert.That(error!.Message, Does.Contain("Ops:Token").And.Contain(expected));
    }

    [Test]
    public void TheDevelopmentToken_IsAcceptedInDevelopment()
    {
        var config = ServiceData.Config(ServiceData.CopyArtifacts());
        config.Remove("Ops:Token");
        using var app = RecommenderHost.Build([], config, environment: "Development");
        Assert.That(app.Services.GetRequiredService<IOptions<OpsOptions>>().Value.Token, Is.EqualTo(OpsOptionsValidator.DevelopmentToken));
    }
}
