from ddcheck.cli import main

main()
