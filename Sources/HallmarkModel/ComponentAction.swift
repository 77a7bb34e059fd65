import Foundation

extension Component {
    /// The Linux action modules of AWS TOE. A document naming any other action is refused at load,
    /// as `awstoe validate` refuses it; one naming an action Hallmark does not run yet is refused too,
    /// saying so, rather than failing mid-build.
    public enum Action: String, Sendable, CaseIterable {
        case executeBash = "ExecuteBash"
        case executeBinary = "ExecuteBinary"
        case executeDocument = "ExecuteDocument"
        case assert = "Assert"
        case createFile = "CreateFile"
        case appendFile = "AppendFile"
        case copyFile = "CopyFile"
        case copyFolder = "CopyFolder"
        case moveFile = "MoveFile"
        case moveFolder = "MoveFolder"
        case deleteFile = "DeleteFile"
        case deleteFolder = "DeleteFolder"
        case createFolder = "CreateFolder"
        case createSymlink = "CreateSymlink"
        case readFile = "ReadFile"
        case listFiles = "ListFiles"
        case setFileEncoding = "SetFileEncoding"
        case setFileOwner = "SetFileOwner"
        case setFolderOwner = "SetFolderOwner"
        case setFilePermissions = "SetFilePermissions"
        case setFolderPermissions = "SetFolderPermissions"
        case webDownload = "WebDownload"
        case s3Download = "S3Download"
        case s3Upload = "S3Upload"
        case updateOS = "UpdateOS"
        case reboot = "Reboot"

        /// The actions Hallmark runs today; the others are known TOE actions it refuses at load.
        public static let supported: [Action] = [
            .executeBash, .executeBinary, .executeDocument, .assert, .createFile, .appendFile, .copyFile, .copyFolder, .moveFile,
            .moveFolder,
            .deleteFile, .deleteFolder, .createFolder, .createSymlink, .readFile, .listFiles, .setFileEncoding, .setFileOwner,
            .setFolderOwner,
            .setFilePermissions, .setFolderPermissions, .webDownload, .s3Download, .s3Upload, .updateOS, .reboot,
        ]

        public var isSupported: Bool { Self.supported.contains(self) }
    }
}
