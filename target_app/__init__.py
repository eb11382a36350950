"""The classroom voting app: the reference target for racecheck."""
