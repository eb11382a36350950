"""racecheck command line."""
