from ragcli.main import main

raise SystemExit(main())
