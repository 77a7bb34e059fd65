import HallmarkCLI

await HallmarkCommand.main()
