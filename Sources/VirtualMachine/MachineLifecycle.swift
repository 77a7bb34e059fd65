import HallmarkSupport

/// Where a test VM is in its life.
public enum MachineState: String, Sendable, Equatable, CustomStringConvertible {
    /// QEMU runs; no guest channel has answered yet (after the first launch or a power cycle).
    case starting
    /// A guest channel answered.
    case running
    /// The guest was asked to reboot; QEMU is waiting for its reset or being started again.
    case rebooting
    /// Shut down: QEMU is gone and the run directory removed.
    case stopped
    /// Left running for debugging (`--keep-vm-on-failure`); Hallmark no longer drives it.
    case detached

    public var description: String { rawValue }
}

/// The VM's state and the transitions between them, apart from QEMU so it can be tested without one.
struct MachineLifecycle: Sendable {
    /// The VM's name, for errors.
    let name: String
    private(set) var state: MachineState = .starting

    init(name: String) { self.name = name }

    /// False once the VM is stopped or detached: nothing may be run in it any more.
    var isUsable: Bool { state != .stopped && state != .detached }

    /// Throws when the VM can no longer run anything; `action` says what was asked, for the message.
    func requireUsable(for action: String) throws {
        switch state {
        case .stopped:
            throw HallmarkError.infrastructure("cannot run \(action) in \(name): the VM has been shut down")
        case .detached:
            throw HallmarkError.infrastructure(
                "cannot run \(action) in \(name): the VM was left running for debugging and is no longer driven by this run")
        case .starting, .running, .rebooting:
            return
        }
    }

    /// A guest channel answered.
    mutating func guestAnswered() {
        if state == .starting { state = .running }
    }

    /// The guest was asked to reboot.
    mutating func rebootRequested() throws {
        try requireUsable(for: "a reboot")
        state = .rebooting
    }

    /// QEMU was started again after the guest's reset; the new boot has yet to answer.
    mutating func poweredOn() {
        if state == .rebooting { state = .starting }
    }

    /// Takes the VM out of use as `final` (stopped or detached); false when it already was, so
    /// teardown runs once.
    mutating func end(as final: MachineState) -> Bool {
        precondition(final == .stopped || final == .detached, "a VM ends stopped or detached, not \(final)")
        guard isUsable else { return false }
        state = final
        return true
    }
}
