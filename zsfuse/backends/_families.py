"""The built-in audio-language families, in display order.

Adding a family: write its adapter module (it defines ``FAMILY``, a
:class:`~._family.ClapFamily`) and add it here; :mod:`._registry` registers
these at import.
"""

from __future__ import annotations

from . import clsp, hf_clap, laion_ckpt, ms_clap, paraclap

#: The built-in families, in the order of ``zsfuse.list_backends()`` and the docs table.
BUILTIN_FAMILIES = (ms_clap.FAMILY, hf_clap.FAMILY, laion_ckpt.FAMILY, clsp.FAMILY, paraclap.FAMILY)
