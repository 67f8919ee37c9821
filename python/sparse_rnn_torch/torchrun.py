"""`python3 -m sparse_rnn_torch.torchrun ...`: PyTorch's torchrun, usable with Debian's torch 1.13 on
Python 3.11.

torch 1.13's launcher parses --redirects/--tee by iterating over an IntFlag, which Python 3.11 no longer
does for zero and multi-bit members, so plain `torchrun` fails with "AttributeError: 'NoneType' object
has no attribute 'get'" before starting any worker (fixed in torch 2.0). This module repairs that one
parser when it is broken and then runs torchrun unchanged; with a working torch it is plain torchrun.
"""

import re
import sys


def _patch():
    from torch.distributed.elastic.multiprocessing import api

    if api.Std.from_str("0") is not None:
        return

    def from_str(cls, vm):
        if re.match(api._VALUE_REGEX, vm):
            return cls(int(vm))
        if re.match(api._MAPPING_REGEX, vm):
            return {int(i): cls(int(v)) for i, v in (m.split(":") for m in vm.split(","))}
        raise ValueError(f"{vm} does not match: <{api._VALUE_REGEX}> or <{api._MAPPING_REGEX}>")

    api.Std.from_str = classmethod(from_str)


def main():
    _patch()
    from torch.distributed.run import main as torchrun_main

    sys.argv[0] = "torchrun"
    torchrun_main()


if __name__ == "__main__":
    main()
