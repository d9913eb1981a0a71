namespace Recommender.Numerics;

/// <summary>Seeded sampling helpers.</summary>
public static class Sampling
{
    /// <summary>Fisher–Yates in place with the given generator; returns <paramref name="values"/>.</summary>
    public static int[] Shuffle(int[] values, Rng rng)
    {
        for (var i = values.Length - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }

        return values;
    }
}
