"""The leaderboard file (data/leaderboard.csv) and its views."""
