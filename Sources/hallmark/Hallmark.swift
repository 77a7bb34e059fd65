import HallmarkCLI

@main
struct Hallmark {
    static func main() async {
        await HallmarkCommand.runMain()
    }
}
