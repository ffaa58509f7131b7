"""kgan's command-line programs: each module parses its flags into one frozen
config and calls one library function. The console scripts of the wheel
(`kgan-metrics`, ...) and the repository's top-level scripts run these."""
