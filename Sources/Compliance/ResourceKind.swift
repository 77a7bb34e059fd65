/// Every resource a check can name, by its name in the policy language, in the order error
/// messages list them. Adding a resource: its file in `Resources/` and its case here.
public enum ResourceKind: String, CaseIterable, Sendable {
    case file, package, service, sysctl, sshd, accounts, find
    case kernelModule = "kernel_module"
    case mount, port, user, group
    case bootHealth = "boot_health"
    case reboot, command
    case timezone, journald, pwquality
    case shellSession = "shell_session"
    case bootTime = "boot_time"
    case pamModule = "pam_module"
    case timesyncd
    case logFiles = "log_files"
    case rootPath = "root_path"

    public var resource: any Resource.Type {
        switch self {
        case .file: FileCheck.self
        case .package: PackageCheck.self
        case .service: ServiceCheck.self
        case .sysctl: SysctlCheck.self
        case .sshd: SshdCheck.self
        case .accounts: AccountsCheck.self
        case .find: FindCheck.self
        case .kernelModule: KernelModuleCheck.self
        case .mount: MountCheck.self
        case .port: PortCheck.self
        case .user: UserCheck.self
        case .group: GroupCheck.self
        case .bootHealth: BootHealthCheck.self
        case .reboot: RebootCheck.self
        case .command: CommandCheck.self
        case .timezone: TimezoneCheck.self
        case .journald: JournaldCheck.self
        case .pwquality: PwqualityCheck.self
        case .shellSession: ShellSessionCheck.self
        case .bootTime: BootTimeCheck.self
        case .pamModule: PamModuleCheck.self
        case .timesyncd: TimesyncdCheck.self
        case .logFiles: LogFilesCheck.self
        case .rootPath: RootPathCheck.self
        }
    }
}
