namespace Recommender.Data;

/// <summary>
/// Strings stored as one block of characters and where each starts: two arrays whatever their
/// number, where a string[] is an object per string for the collector to mark and move.
/// </summary>
public sealed class StringTable
{
    private readonly char[] _chars;
    private readonly int[] _starts;

    private StringTable(char[] chars, int[] starts) => (_chars, _starts) = (chars, starts);

    public int Count => _starts.Length - 1;

    /// <summary>The i-th string, made on each call.</summary>
    public string this[int i] => new(Span(i));

    /// <summary>The i-th string's characters, without making a string.</summary>
    public ReadOnlySpan<char> Span(int i) => _chars.AsSpan(_starts[i], _starts[i + 1] - _starts[i]);

    public sealed class Builder
    {
        private readonly List<char> _chars = [];
        private readonly List<int> _starts = [0];

        public void Add(string s)
        {
            _chars.AddRange(s);
            _starts.Add(_chars.Count); // int: 2^31 characters is 20 times the names of a million tracks
        }

        public StringTable Build()
        {
            return new StringTable([.. _chars], [.. _starts]);
        }
    }
}
