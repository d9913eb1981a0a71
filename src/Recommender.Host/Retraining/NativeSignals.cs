using System.Runtime.InteropServices;

namespace Recommender.Host.Retraining;

internal static partial class NativeSignals
{
    public const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);
}
