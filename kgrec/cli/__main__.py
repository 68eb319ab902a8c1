from kgrec.cli.main import main

main()
