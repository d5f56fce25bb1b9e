"""The end-to-end demo behind `make demo`.

Starts a mini cluster, fills /data through curvine_py, writes a Fluid
ThinRuntime config.json that points at it, and runs curvine-fluid through its
checks to the exec of a FUSE client. The mounted dataset is then listed
through the kernel, unmounted, and everything is stopped.

The FUSE client is a real curvine-fuse where one is installed
($CURVINE_FUSE_BIN, or <curvine home>/lib/curvine-fuse), else curvine-py's own
read-only curvine-py-fuse.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from curvine_py.testing import MiniCluster, MiniClusterError

MOUNT_WAIT_S = 30.0
GREETING = b"Hello from Curvine, written through curvine_py.\n"


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def run(*cmd: str | os.PathLike[str]) -> None:
    print("$ " + " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True)


def fuse_program() -> tuple[str, str]:
    """The FUSE client to exec, and a word on where it came from."""
    explicit = os.environ.get("CURVINE_FUSE_BIN")
    if explicit:
        return explicit, "CURVINE_FUSE_BIN"
    for home in (os.environ.get("CURVINE_HOME"), "/opt/curvine"):
        if home and os.access(Path(home, "lib", "curvine-fuse"), os.X_OK):
            return str(Path(home, "lib", "curvine-fuse")), "Curvine's curvine-fuse"
    ours = Path(sys.executable).with_name("curvine-py-fuse")
    if not ours.exists():
        found = shutil.which("curvine-py-fuse")
        if found is None:
            raise SystemExit("curvine-py-fuse is not installed; run `make build`")
        ours = Path(found)
    return str(ours), "curvine-py's own read-only curvine-py-fuse"


def fill_dataset(cluster: MiniCluster) -> bool:
    """Make /data with a few directories, and a file where writes exist."""
    with cluster.client() as client:
        for d in ("/data/images/train", "/data/images/val", "/data/labels"):
            client.mkdir(d, parents=True, exist_ok=True)

        write = getattr(client, "write_bytes", None)
        if write is None:
            print("(this curvine_py has no file writes yet: directories only)")
            return False
        try:
            write("/data/hello.txt", GREETING)
        except io.UnsupportedOperation as e:
            print(f"(no file written: {e})")
            return False
        print(f"wrote /data/hello.txt ({len(GREETING)} bytes) through curvine_py")
        return True


def wait_mounted(target: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + MOUNT_WAIT_S
    while time.monotonic() < deadline:
        if os.path.ismount(target):
            return
        if proc.poll() is not None:
            raise SystemExit(f"curvine-fluid ended with status {proc.returncode}")
        time.sleep(0.1)
    raise SystemExit(f"{target} was not mounted within {MOUNT_WAIT_S:.0f} s")


def unmount(target: Path, proc: subprocess.Popen[bytes] | None) -> None:
    if os.path.ismount(target):
        subprocess.run(["fusermount3", "-u", str(target)], check=False)
    if proc is not None and proc.poll() is None:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="curvine-demo-"))
    curvine_home = work / "curvine-home"
    target = work / "runtime-mnt" / "thin" / "default" / "demo-dataset" / "thin-fuse"
    proc: subprocess.Popen[bytes] | None = None

    step("starting the mini cluster")
    with MiniCluster() as cluster:
        print(f"masters: {cluster.master_endpoints}")
        try:
            step("creating /data through curvine_py")
            wrote_file = fill_dataset(cluster)

            step("writing a Fluid ThinRuntime config.json")
            config = {
                "mounts": [
                    {
                        "mountPoint": "curvine:///data",
                        "options": {"master-endpoints": cluster.master_endpoints},
                        "name": "curvine",
                    }
                ],
                "targetPath": str(target),
                "accessModes": ["ReadOnlyMany"],
            }
            config_path = work / "config.json"
            # Fluid makes the target's parent on the node before the pod starts.
            target.parent.mkdir(parents=True)
            config_path.write_text(json.dumps(config, separators=(",", ":")))
            print(config_path.read_text())

            fuse_bin, origin = fuse_program()
            step(f"running curvine-fluid; it execs {origin}")
            fluid = Path(sys.executable).with_name("curvine-fluid")
            cmd = [
                str(fluid),
                "--config",
                str(config_path),
                "--curvine-home",
                str(curvine_home),
                "--fuse-bin",
                fuse_bin,
            ]
            print("$ " + " ".join(cmd), flush=True)
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
            wait_mounted(target, proc)

            step(f"the dataset, mounted at {target}")
            run("ls", "-la", target)
            run("ls", "-la", target / "images")
            if wrote_file:
                run("cat", target / "hello.txt")
                if (target / "hello.txt").read_bytes() != GREETING:
                    raise SystemExit("hello.txt read through the mount differs")
            run("df", "-h", target)
        finally:
            step("unmounting and stopping the mini cluster")
            unmount(target, proc)
            if not os.path.ismount(target):
                shutil.rmtree(work, ignore_errors=True)

    print("\ndemo finished")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, MiniClusterError, subprocess.CalledProcessError) as e:
        sys.exit(f"demo failed: {e}")
