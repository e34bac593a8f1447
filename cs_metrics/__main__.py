from cs_metrics.cli import main

main()
