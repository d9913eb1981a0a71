using Recommender.Ranking;

namespace Recommender.Tests.Models;

/// <summary>The choice of how deep the ranker reads each generator, on lists made by hand.</summary>
public class CandidateDepthsTests
{
    /// <summary>A 200-long list of filler tracks (10,000 + source * 1,000 + rank) with the given tracks placed at 0-based positions.</summary>
    private static int[] List(int source, params (int Position, int Track)[] placed)
    {
        var list = Enumerable.Range(0, 200).Select(r => 10_000 + (source * 1_000) + r).ToArray();
        foreach (var (position, track) in placed)
        {
            list[position] = track;
        }

        return list;
    }

    // User A's positives: 1000 at ALS rank 53, 1001 at ALS rank 62, 1002 at similar rank 4.
    // User B's one positive, 2000, is first in ALS and genre: found whatever the depths, once.
    private static readonly int[][][] Lists =
    [
        [List(0, (52, 1000), (61, 1001)), List(1), List(2), List(3, (3, 1002)), List(4)],
        [List(0, (0, 2000)), List(1), List(2, (0, 2000)), List(3), List(4)],
    ];

    private static readonly int[][] Truths = [[1000, 1001, 1002], [2000]];

    private static readonly int[] NoCaps = [200, 200, 200, 200, 200];

    [Test]
    public void UnionRecall_CountsEachPositiveOnce_AsDeepAsEachSourceIsRead()
    {
        Assert.That(CandidateDepths.UnionRecall(Lists, Truths, new(50, 50, 50, 0, 0)), Is.EqualTo((0 + 1) / 2.0), "A: none within the blend's 50; B: its one, in two lists");
        Assert.That(CandidateDepths.UnionRecall(Lists, Truths, new(60, 50, 50, 0, 0)), Is.EqualTo(((1 / 3.0) + 1) / 2).Within(1e-12));
        Assert.That(CandidateDepths.UnionRecall(Lists, Truths, new(70, 50, 50, 10, 0)), Is.EqualTo(1.0));
        Assert.That(CandidateDepths.UnionRecall(Lists, Truths, new(50, 50, 50, 3, 0)), Is.EqualTo(0.5), "rank 4 is outside a depth of 3");
    }

    [Test]
    public void UnionSize_CountsEachTrackOnce()
    {
        // A at 50/50/50/0/0: 150 distinct fillers; B: 2000 in ALS and genre once, so 149.
        Assert.That(CandidateDepths.UnionSize(Lists, new(50, 50, 50, 0, 0)), Is.EqualTo((150 + 149) / 2.0));
        Assert.That(CandidateDepths.UnionSize(Lists, new(50, 50, 50, 10, 0)), Is.EqualTo((160 + 159) / 2.0));
    }

    [Test]
    public void Choose_GivesEachStepToTheSourceAddingMostPositives_TiesToTheEarlier_WithinTheBudget()
    {
        // Step 1: ALS to 60 (+1/3 for A) ties similar to 10 (+1/3): ALS. Step 2: ALS to 70 ties similar again: ALS.
        // Step 3: similar to 10. Steps 4 and 5 add nothing anywhere: the earliest source, ALS, to 90.
        Assert.That(CandidateDepths.Choose(Lists, Truths, 200, NoCaps), Is.EqualTo(new CandidateDepths(90, 50, 50, 10, 0)));
        Assert.That(CandidateDepths.Choose(Lists, Truths, 150, NoCaps), Is.EqualTo(new CandidateDepths(50, 50, 50, 0, 0)), "no budget past the blend's floor");
        Assert.That(CandidateDepths.Choose(Lists, Truths, 175, NoCaps), Is.EqualTo(new CandidateDepths(70, 50, 50, 0, 0)), "two whole steps fit in 25 slots");
    }

    [Test]
    public void Choose_StopsASourceAtItsCap()
    {
        // ALS may read 60 (the run's precomputed top 60): step 1 ALS, step 2 similar (ALS is full), then nothing
        // adds anything and item-based is the earliest source with room.
        Assert.That(CandidateDepths.Choose(Lists, Truths, 200, [60, 200, 200, 200, 200]), Is.EqualTo(new CandidateDepths(60, 80, 50, 10, 0)));
        Assert.That(CandidateDepths.Choose(Lists, Truths, 200, [50, 50, 50, 10, 10]), Is.EqualTo(new CandidateDepths(50, 50, 50, 10, 10)), "every source full before the budget");
    }

    [Test]
    public void Validate_NamesEachDepthOutOfRange()
    {
        Assert.That(CandidateDepths.Default.Validate(), Is.Empty);
        Assert.That(new CandidateDepths(40, 50, 50, 0, 0).Validate(), Is.EqualTo(new[] { "candidate depths: als must be in [50, 200] (got 40)" }), "the blend's parts go at least as deep as the blend");
        Assert.That(new CandidateDepths(50, 201, 50, -1, 0).Validate(), Is.EqualTo(new[] { "candidate depths: itemknn must be in [50, 200] (got 201)", "candidate depths: similar must be in [0, 200] (got -1)" }));
        Assert.That(() => CandidateDepths.Choose(Lists, Truths, 140, NoCaps), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("budget"));
    }
}
