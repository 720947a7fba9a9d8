"""Whether the Hugging Face hub can be reached, and loading from it.

Offline is detected without any environment variable: ``HF_HUB_OFFLINE`` when set, else
a short connection probe whose answer is trusted for ``PROBE_TTL_S``, so a preset whose
data is on the hub falls back to its built-in stand-in at once."""

from __future__ import annotations

import os
import socket
import threading
import time
import urllib.parse
import urllib.request

from ..errors import DataError
from . import builtin

PROBE_TTL_S = 60.0  # how long a hub reachability probe is trusted


PROBE_TIMEOUT_S = 2.0


def _env_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` is set: hub ids are then read from the local cache only."""
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() not in ("0", "", "false", "no")


def _probe_target() -> tuple[str, int]:
    """Where a connection to the hub first goes: the HTTPS proxy, if one is set."""
    from huggingface_hub import constants

    proxy = urllib.request.getproxies().get("https")
    if proxy:
        parsed = urllib.parse.urlparse(proxy if "//" in proxy else f"http://{proxy}")
        if parsed.hostname:
            return parsed.hostname, parsed.port or 8080
    parsed = urllib.parse.urlparse(constants.ENDPOINT)
    return parsed.hostname, parsed.port or 443


def reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """A quick TCP probe of the hub (or the proxy), so a machine without network knows
    in at most ``timeout`` seconds instead of retrying for half a minute. The probe runs
    in a thread, so a resolver that hangs cannot hold it longer."""
    result: list[bool] = []

    def probe():
        try:
            socket.create_connection(_probe_target(), timeout=timeout).close()
            result.append(True)
        except Exception:  # noqa: BLE001 - any failure to connect means offline
            result.append(False)

    thread = threading.Thread(target=probe, name="hub probe", daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


_PROBE: dict = {"probe": None, "at": float("-inf"), "ok": False}


_PROBE_LOCK = threading.Lock()


def _hub_online(fresh: bool = False) -> bool:
    """``reachable()``, remembered for ``PROBE_TTL_S`` seconds."""
    with _PROBE_LOCK:
        if (fresh or _PROBE["probe"] is not reachable
                or time.monotonic() - _PROBE["at"] > PROBE_TTL_S):
            _PROBE.update(probe=reachable, ok=reachable(), at=time.monotonic())
        return _PROBE["ok"]


def offline_reason() -> str | None:
    """Why the hub cannot be used now (None when it can): ``HF_HUB_OFFLINE`` is set,
    or a quick probe (remembered for a minute) found no network."""
    if _env_offline():
        return "HF_HUB_OFFLINE is set"
    if not _hub_online():
        return "no network: the Hugging Face hub cannot be reached"
    return None


def hub_offline() -> bool:
    """True when hub datasets cannot be downloaded now (see ``offline_reason``): presets
    then use their built-in stand-ins, without any environment variable."""
    return offline_reason() is not None


def load_hub(dataset_id: str, name: str | None, revision: str | None = None,
              split: str | None = None):
    try:
        if not _env_offline() and not _hub_online(fresh=True):
            raise ConnectionError("no network: the hub cannot be reached (with "
                                  "HF_HUB_OFFLINE=1 a copy in the local cache is used)")
        import datasets  # here, not above: the app shows its widgets before it is loaded

        return datasets.load_dataset(dataset_id, name, revision=revision, split=split)
    except Exception as err:  # noqa: BLE001 - every hub failure gets the same advice
        why = f"{type(err).__name__}: {err}"
        if _env_offline():
            why = f"offline (HF_HUB_OFFLINE is set; {why})"
        raise DataError(
            f"could not load {dataset_id!r}{f' ({name})' if name else ''} from the Hugging "
            f"Face hub: {why}. Offline, use a built-in ({', '.join(builtin.NAMES[:4])}, ...; "
            "the dataset list shows them all) or local files (csv, json, parquet, txt)"
        ) from None
