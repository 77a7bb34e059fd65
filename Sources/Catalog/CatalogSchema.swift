import GRDB

/// The catalog's tables, one migration per change, applied in order on every open. A migration
/// once shipped is never edited: a change of schema is a new migration appended here.
enum CatalogSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1-images-builds-states-tests-distributions") { db in
            try db.create(table: "image") { table in
                table.primaryKey("name", .text)
                table.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "build") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("image", .text).notNull().references("image", onDelete: .restrict)
                table.column("version", .text).notNull()
                table.column("major", .integer).notNull()
                table.column("minor", .integer).notNull()
                table.column("patch", .integer).notNull()
                table.column("number", .integer).notNull()
                table.column("state", .text).notNull()
                table.column("buildDigest", .text)
                table.column("directory", .text).notNull()
                // The Hallmark image this one was built on (`name@version/build`), if any: lifecycle keeps parents.
                table.column("parent", .text)
                // Who is working on the build while it is BUILDING, TESTING or DISTRIBUTING.
                table.column("ownerHost", .text)
                table.column("ownerProcess", .integer)
                table.column("ownerStarted", .text)
                table.column("createdAt", .datetime).notNull()
                table.column("updatedAt", .datetime).notNull()
                // The last guard against a number handed out twice, whatever the code above it does.
                table.uniqueKey(["image", "version", "number"])
            }
            try db.create(table: "stateChange") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("build", .integer).notNull().references("build", onDelete: .cascade)
                table.column("state", .text).notNull()
                table.column("at", .datetime).notNull()
                table.column("note", .text)
            }
            try db.create(table: "testRun") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("build", .integer).notNull().references("build", onDelete: .cascade)
                table.column("verdict", .text).notNull()
                table.column("reportDigest", .text)
                table.column("envelopeDigest", .text)
                table.column("reportDirectory", .text)
                table.column("at", .datetime).notNull()
            }
            try db.create(table: "distribution") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("build", .integer).notNull().references("build", onDelete: .cascade)
                table.column("target", .text).notNull()
                table.column("state", .text).notNull()
                table.column("detail", .text)
                table.column("at", .datetime).notNull()
            }
            try db.create(index: "build_by_image_version", on: "build", columns: ["image", "major", "minor", "patch", "number"])
        }
        migrator.registerMigration("2-test-run-inputs-digest") { db in
            // What the test checked against besides the image (policies, waivers): `--if-updates` compares it.
            try db.alter(table: "testRun") { table in table.add(column: "inputsDigest", .text) }
        }
        return migrator
    }
}
