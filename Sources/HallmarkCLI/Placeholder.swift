import ArgumentParser

public struct HallmarkCommand: AsyncParsableCommand {
    public init() {}
}
