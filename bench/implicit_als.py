"""implicit's CPU ALS on the matrix `Recommender.Host bench --export-csr PATH` wrote, for the
side-by-side figure in docs/benchmarks.md (issues 12 and 28). bench/als_side_by_side.sh runs it
beside ours on the same matrix.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/implicit_als.py PATH [--factors 64] [--iterations 5]

Prints the BLAS threadpoolctl finds (its library, version and the kernel it chose: on some
processors OPENBLAS_CORETYPE picks a slower one) and every iteration's seconds.

Binary feedback with confidence 1 + alpha (alpha 10, as our ALS), CG with 3 steps, 2 threads.
"""
import argparse
import time

import numpy as np
import scipy.sparse as sp
import implicit
from implicit.cpu.als import AlternatingLeastSquares


def read_csr(path):
    with open(path, "rb") as f:
        users, items, nnz = np.fromfile(f, dtype=np.int32, count=3)
        indptr = np.fromfile(f, dtype=np.int32, count=users + 1)
        indices = np.fromfile(f, dtype=np.int32, count=nnz)
    data = np.ones(nnz, dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(users, items))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("csr")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--alpha", type=float, default=10.0)
    parser.add_argument("--regularization", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    matrix = read_csr(args.csr)
    print(f"implicit {implicit.__version__}: {matrix.shape[0]:,} users, {matrix.shape[1]:,} tracks, {matrix.nnz:,} non-zeros")
    times = []

    def callback(iteration, elapsed, loss):
        times.append(elapsed)

    model = AlternatingLeastSquares(factors=args.factors, regularization=args.regularization, alpha=args.alpha,
                                    iterations=args.iterations, use_cg=True, calculate_training_loss=False,
                                    num_threads=args.threads, random_state=42)
    model.cg_steps = 3  # the default of 0.7.2, set so that a change of default cannot skew the comparison
    start = time.perf_counter()
    model.fit(matrix, show_progress=False, callback=callback)
    total = time.perf_counter() - start
    try:
        from threadpoolctl import threadpool_info
        for pool in threadpool_info():
            print(f"blas: {pool.get('internal_api')} {pool.get('version')}, kernel {pool.get('architecture')}, "
                  f"{pool.get('num_threads')} threads ({pool.get('filepath')})")
    except ImportError:
        print("blas: threadpoolctl not installed, kernel unknown")
    print("implicit ALS: each iteration " + ", ".join(f"{t:.2f}" for t in times) + " s")  # the callback's time is the iteration's own
    print(f"implicit ALS: {args.iterations} iterations in {total:.1f} s; per iteration "
          f"mean {np.mean(times):.2f} s, min {np.min(times):.2f} s, max {np.max(times):.2f} s")


if __name__ == "__main__":
    main()
