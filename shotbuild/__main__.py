from __future__ import annotations

import sys

from shotbuild.cli import main

sys.exit(main())
