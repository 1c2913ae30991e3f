"""`python -m daemon` is the `replydesk` command."""

from daemon.cli import main

raise SystemExit(main())
