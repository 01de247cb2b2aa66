"""DDP on one machine stays on that machine: nothing it opens listens beyond loopback.

torch's rendezvous store (a TCPStore server in rank 0) listens on every interface whatever
MASTER_ADDR says, and gloo and NCCL listen on the interface the host name resolves to:
on a shared GPU box, any host that can reach it could talk to a run's processes. When the
run spans one node and neither the user nor a scheduler chose the address:

- MASTER_ADDR is 127.0.0.1;
- rank 0 opens the store itself on a socket bound to 127.0.0.1, as a multi-tenant store,
  so the one `init_process_group` opens later reuses it instead of binding all interfaces;
- gloo and NCCL use the loopback interface (GLOO_SOCKET_IFNAME / NCCL_SOCKET_IFNAME; on one
  node NCCL moves tensors over NVLink/PCIe or shared memory, not sockets).

Only for Lightning's own launcher of extra processes (`strategy: ddp`, and what `auto`
picks for several devices), where rank 0 is this process; a scheduler (SLURM, torchrun)
that starts the ranks itself sets the address and is left alone.
"""

from __future__ import annotations

import os
import socket
from typing import Any

LOOPBACK = "127.0.0.1"
_STORES: list[Any] = []  # the store server lives as long as the process


def loopback_interface() -> str | None:
    """The name of the interface holding 127.0.0.1 (`lo` on Linux, `lo0` on macOS)."""
    import psutil

    for name, addresses in psutil.net_if_addrs().items():
        if any(a.family == socket.AF_INET and a.address == LOOPBACK for a in addresses):
            return name
    return None


def _launches_ranks_here(trainer: Any) -> bool:
    from lightning_fabric.plugins.environments import LightningEnvironment
    from pytorch_lightning.strategies import DDPStrategy

    strategy = trainer.strategy
    environment = getattr(strategy, "cluster_environment", None)
    launcher = getattr(strategy, "launcher", None)
    return (
        isinstance(strategy, DDPStrategy)
        and type(environment) is LightningEnvironment
        and not environment.creates_processes_externally
        # Lightning's subprocess launcher: this process becomes rank 0 (the spawn/fork
        # launchers make every rank a child, which would then bind the port itself).
        and type(launcher).__name__ == "_SubprocessScriptLauncher"
        and trainer.num_nodes == 1
        and trainer.world_size > 1
    )


def keep_ddp_on_loopback(trainer: Any) -> bool:
    """Bind a one-node DDP run's rendezvous to loopback (see the module docstring).

    Call after the Trainer is built and before it fits. Returns whether it applied.
    """
    if "MASTER_ADDR" in os.environ or not _launches_ranks_here(trainer):
        return False
    import torch.distributed as dist

    environment = trainer.strategy.cluster_environment
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LOOPBACK, 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    os.environ["MASTER_ADDR"] = LOOPBACK
    os.environ["MASTER_PORT"] = str(port)  # the children inherit both
    environment._main_port = port  # in case Lightning already picked one
    interface = loopback_interface()
    if interface is not None:
        os.environ.setdefault("GLOO_SOCKET_IFNAME", interface)
        os.environ.setdefault("NCCL_SOCKET_IFNAME", interface)
    store = dist.TCPStore(
        LOOPBACK,
        port,
        None,
        True,
        wait_for_workers=False,
        multi_tenant=True,
        master_listen_fd=listener.detach(),
        use_libuv=True,
    )
    _STORES.append(store)
    return True
