from ruxtrack.cli import main

main()
