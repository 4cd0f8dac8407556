"""Two "hosts" on one machine, for multi-node MPI runs: Linux network + UTS namespaces joined by a veth pair.

Host ``a`` is 10.77.0.1, host ``b`` 10.77.0.2; each sees both names in its ``/etc/hosts`` (``ip netns exec``
binds ``/etc/netns/NS/hosts`` over ``/etc/hosts``). ``mpirun`` runs on ``a``; its launcher agent
(``plm_rsh_agent``: ssh on a real cluster) is a script that enters ``b``'s namespaces and runs the command line
there as ssh's remote shell would. The ranks talk over OpenMPI's TCP transport only (``--mca btl tcp,self``: no
shared memory between the "hosts"); they share the file system, as a cluster with a shared ``--out`` does.

Jittor keys its compiled-operator cache by host name (``platform.node()`` is part of the folder's name under
``~/.cache/jittor/``), so hosts ``a`` and ``b`` each compile their own at their first run (minutes), as the hosts of
a cluster do; the folders stay for later runs. (Pointing them at this host's folder instead makes Jittor rebuild
its compiler utilities at every switch: the folder's path is one of its build flags.) Used by
``tests/mpi/test_mpi_two_hosts.py`` and ``benchmarks/mpi_scaling.py --two-hosts``. Needs root, ``ip`` (iproute2)
and ``unshare`` (util-linux).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SUBNET = "10.77.0.0/24"
ADDRESSES = {"a": "10.77.0.1", "b": "10.77.0.2"}


class Unavailable(RuntimeError):
    """Namespaces cannot be made here (the message says why)."""


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise Unavailable(f"ip {' '.join(args)}: {result.stderr.strip()}")


class TwoHosts:
    """Namespaces ``{prefix}a`` and ``{prefix}b``, their hosts files and the launcher agent (in ``folder``).

    Use as a context manager, or :meth:`create` / :meth:`remove`; :meth:`command` wraps an ``mpirun`` command line.
    """

    def __init__(self, folder: Path):
        self.prefix = f"jns{os.getpid() % 100000}"  # interface names are at most 15 characters
        self.namespaces = {host: self.prefix + host for host in ADDRESSES}
        self.etc = [Path("/etc/netns") / name for name in self.namespaces.values()]
        self.agent = Path(folder) / "agent.sh"
        cores = sorted(os.sched_getaffinity(0))
        half = max(1, len(cores) // 2)
        self.cores = {"a": ",".join(map(str, cores[:half])), "b": ",".join(map(str, cores[half:] or cores))}
        """The CPUs of each host (``taskset -c`` lists): this machine's, split in two."""

    def __enter__(self) -> "TwoHosts":
        self.create()
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def create(self) -> None:
        """Make the namespaces, or raise :class:`Unavailable` (after undoing what was made) saying why not."""
        missing = [tool for tool in ("ip", "unshare", "taskset") if shutil.which(tool) is None]
        if missing:
            raise Unavailable(f"{', '.join(missing)} not on PATH (apt-get install iproute2 util-linux)")
        if os.geteuid() != 0:
            raise Unavailable("namespaces for two hosts need root (ip netns add)")
        try:
            self._create()
        except Unavailable:
            self.remove()
            raise

    def _create(self) -> None:
        for name in self.namespaces.values():
            _ip("netns", "add", name)
        _ip("link", "add", self.prefix + "va", "type", "veth", "peer", "name", self.prefix + "vb")
        for host, name in self.namespaces.items():
            device = self.prefix + "v" + host
            _ip("link", "set", device, "netns", name)
            _ip("-n", name, "addr", "add", ADDRESSES[host] + "/24", "dev", device)
            _ip("-n", name, "link", "set", device, "up")
            _ip("-n", name, "link", "set", "lo", "up")
        hosts = "127.0.0.1 localhost\n" + "".join(f"{address} {host}\n" for host, address in ADDRESSES.items())
        for folder in self.etc:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "hosts").write_text(hosts)
        # ssh's stand-in: "$1" is the host, the rest one shell command line (OpenMPI quotes it for a remote shell);
        # b runs on the second half of the cores, a (mpirun's side, command()) on the first, as two machines have
        # their own: else each host's OpenMPI binds its rank to core 0, the same core
        self.agent.write_text(
            "#!/bin/sh\nhost=$1; shift\n"
            f"exec taskset -c {self.cores['b']} ip netns exec {self.prefix}$host unshare --uts sh -c "
            "'hostname \"$0\"; exec sh -c \"$*\"' \"$host\" \"$@\"\n")
        self.agent.chmod(0o755)

    def remove(self) -> None:
        for name in self.namespaces.values():  # deleting a namespace deletes its end of the veth pair
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)
        # a pair that never left this namespace (create() failed half-way)
        subprocess.run(["ip", "link", "delete", self.prefix + "va"], capture_output=True)
        for folder in self.etc:
            shutil.rmtree(folder, ignore_errors=True)

    def command(self, mpirun: list[str]) -> list[str]:
        """``mpirun [options] PROGRAM`` as one rank on each host (``--host a,b``), started on host ``a``."""
        mpirun = list(mpirun)
        mpirun[1:1] = ["--host", "a,b", "--mca", "plm_rsh_agent", str(self.agent), "--mca", "btl", "tcp,self",
                       "--mca", "btl_tcp_if_include", SUBNET, "--mca", "oob_tcp_if_include", SUBNET]
        return ["taskset", "-c", self.cores["a"], "ip", "netns", "exec", self.namespaces["a"], "unshare", "--uts",
                "sh", "-c", 'hostname a; exec "$@"', "sh", *mpirun]
