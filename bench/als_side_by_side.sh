#!/usr/bin/env bash
# Our ALS and implicit's on the same user x track matrix, in one run (issue 28, item 5).
#
#   bench/als_side_by_side.sh DATA_DIR [ITERATIONS]      # DATA_DIR: e.g. generate --users 300000 --tracks 220000
#
# Both: 64 factors, 3 CG steps, 2 threads, binary feedback with alpha 10, lambda 0.1. Ours runs as
# the machine is set up; implicit's command alone runs without OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE (on some processors these machines set them, and they slow a current OpenBLAS),
# and prints the BLAS kernel threadpoolctl reports. implicit: built from benfred/implicit v0.7.2
# (docs/benchmarks.md, "ALS against implicit").
set -euo pipefail
H=${H:-src/Recommender.Host/bin/Release/net10.0/Recommender.Host}
DATA=${1:?usage: bench/als_side_by_side.sh DATA_DIR [ITERATIONS]}
ITERATIONS=${2:-5}
CSR=${CSR:-$(mktemp -d)/matrix.csr}

echo "machine: $(nproc) cores; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-unset}"
echo "== ours"
"$H" bench --data "$DATA" --stages als --iterations "$ITERATIONS" --export-csr "$CSR"
echo "== implicit (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for this command only)"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$(dirname "$0")/implicit_als.py" "$CSR" --iterations "$ITERATIONS"
