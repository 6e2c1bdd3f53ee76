from grokjax.cli import main

raise SystemExit(main())
