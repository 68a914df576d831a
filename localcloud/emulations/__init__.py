"""One module per emulated AWS behaviour that moto lacks; each imports only `localcloud.core`.

Importing any of them checks the moto version first: they reach into private moto code.
"""

from localcloud.core import check_moto_version

check_moto_version()
