namespace Recommender.Data;

/// <summary>Bad input: the message names the file and, where known, the column.</summary>
public sealed class DataException : Exception
{
    public DataException(string file, string? column, string problem)
        : base(column is null ? $"{Path.GetFileName(file)}: {problem}" : $"{Path.GetFileName(file)}, column '{column}': {problem}")
    {
        FilePath = file;
        Column = column;
    }

    public DataException(string file, string? column, string problem, Exception inner)
        : base(column is null ? $"{Path.GetFileName(file)}: {problem}" : $"{Path.GetFileName(file)}, column '{column}': {problem}", inner)
    {
        FilePath = file;
        Column = column;
    }

    public string FilePath { get; }
    public string? Column { get; }
}
