using System.Runtime.InteropServices;

namespace Recommender.Data;

/// <summary>
/// The C heap beside the GC's: the native Parquet library and LightGBM allocate there, and glibc
/// keeps what they free (per thread arena) instead of handing it back to the system.
/// </summary>
public static partial class NativeHeap
{
    private static bool _noTrim = !OperatingSystem.IsLinux();

    /// <summary>
    /// Gives the C heap's free pages back to the system (glibc's <c>malloc_trim</c>; nothing where it
    /// is missing, as with musl). Cheap (milliseconds) next to a training stage or a snapshot swap.
    /// </summary>
    public static void Trim()
    {
        if (_noTrim)
        {
            return;
        }

        try
        {
            _ = MallocTrim(0);
        }
        catch (EntryPointNotFoundException)
        {
            _noTrim = true; // a C library without malloc_trim: nothing to give back this way
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
