using Recommender.Host.Services;
using Recommender.Serving;
using Recommender.V1;

namespace Recommender.Tests.Host;

public class SourceMappingTests
{
    [Test]
    public void EveryCoreSource_MapsToTheProtoSourceOfTheSameName([Values] RecommendationSource source) =>
        Assert.That(RecommendationGrpcService.ToProto(source).ToString(), Is.EqualTo(source.ToString()));

    [Test]
    public void EveryProtoSource_ButUnspecified_HasACoreCounterpart() =>
        Assert.That(Enum.GetValues<Source>().Where(s => s != Source.Unspecified).Select(s => s.ToString()),
            Is.EquivalentTo(Enum.GetNames<RecommendationSource>()));
}
