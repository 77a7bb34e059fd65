import GuestChannel
import HallmarkModel

extension GuestChannelChoice {
    /// The recipe's `tests.channel` as the VM layer's choice: the model knows no VM protocol module.
    init(_ setting: Recipe.GuestChannelSetting) {
        switch setting {
        case .auto: self = .auto
        case .agent: self = .agent
        case .console: self = .console
        }
    }
}
