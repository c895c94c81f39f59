"""The one measurement loop (`loop`: arm, measure, slots, side-by-side turns), the statistics inside one process
(`stats`) and what competed with it (`contention`). Below every stage that times something — timing, explain,
generation — so that each of them samples with the same loop and the same sync rule."""
