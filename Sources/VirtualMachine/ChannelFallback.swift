import GuestChannel

/// When the console shell answers before the guest agent, whether to take it and what the report
/// says about it: the decision `waitForGuest` makes, apart from the sockets, so it can be tested.
struct ChannelFallback {
    /// How long the agent still gets, in `auto` mode, once the shell answered and the agent is installed.
    static let agentGrace = Duration.seconds(60)

    enum Decision: Equatable {
        /// Use the console shell; the note says why (for the report and the terminal).
        case useShell(note: String)
        /// Keep waiting for the agent.
        case waitForAgent
    }

    let choice: GuestChannelChoice
    /// When the agent's grace ends; nil until the shell first answered.
    private(set) var graceEnds: ContinuousClock.Instant?

    init(choice: GuestChannelChoice) {
        self.choice = choice
    }

    /// The shell answered. `agentBlocked` is why the agent cannot run commands, if it answered and
    /// refused; `agentMissing` asks the shell whether the image lacks the agent (asked once).
    mutating func shellAnswered(
        agentBlocked: String?, now: ContinuousClock.Instant, agentMissing: @Sendable () async -> String?
    ) async -> Decision {
        if choice == .console { return .useShell(note: "the recipe asks for the console shell") }
        if let agentBlocked { return .useShell(note: agentBlocked + "; using the console shell") }
        guard let graceEnds else {
            if let missing = await agentMissing() { return .useShell(note: missing + "; using the console shell") }
            graceEnds = now + Self.agentGrace
            return .waitForAgent
        }
        guard now >= graceEnds else { return .waitForAgent }
        return .useShell(note: "the guest agent is installed but did not answer within 60 s of the console shell; using the console shell")
    }
}
