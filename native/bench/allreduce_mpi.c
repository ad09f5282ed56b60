// Open MPI's own all-reduce figure for `npm run bench:ddp`: MPI_Allreduce (float sum, in place) over
// message sizes given in bytes on the command line, timed after a warm-up, the slowest rank's time.
// Prints one JSON line on rank 0: [{"bytes": n, "us": microseconds per call}, ...].
// Build: mpicc -O2 allreduce_mpi.c -o allreduce_mpi; run: mpirun -np 2 ./allreduce_mpi 4096 1048576
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) printf("[");
  for (int a = 1; a < argc; a++) {
    long bytes = atol(argv[a]);
    int n = (int)(bytes / 4);
    float *x = malloc((size_t)n * sizeof(float));
    for (int i = 0; i < n; i++) x[i] = (float)(i % 7);
    // as many calls as take ~0.3 s at 1 GB/s, at least 10
    int iters = (int)(3e8 / (bytes + 1e4));
    if (iters < 10) iters = 10;
    for (int i = 0; i < 3; i++) MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < iters; i++) MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    double dt = (MPI_Wtime() - t0) / iters, worst = 0;
    MPI_Reduce(&dt, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0) printf("%s{\"bytes\": %ld, \"us\": %.3f}", a > 1 ? ", " : "", bytes, worst * 1e6);
    free(x);
  }
  if (rank == 0) printf("]\n");
  MPI_Finalize();
  return 0;
}
