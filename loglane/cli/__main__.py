from loglane.cli import main

main()
