"""Where a run lives and how it runs: the Jittor backend, start-up, MPI launch and collectives, atomic file I/O, checkpoints, run directories, provenance, signal guards, locks, progress."""
