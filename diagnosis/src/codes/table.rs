//! The code table. Names follow the Windows SDK headers and the sources cited in the domain
//! reference (CBS_E/PSFX_E: Azure CBS scanner and a public CBS_E name table; WU_E: Windows Update
//! error reference; Win32: the System Error Codes pages). Meanings are written for this project.

/// One known code.
pub(super) struct Entry {
    /// Normalised code (Win32 errors in their HRESULT form).
    pub code: u32,
    /// Symbolic name.
    pub name: &'static str,
    /// A second accepted name (e.g. `ERROR_ACCESS_DENIED` for `E_ACCESSDENIED`), or "".
    pub alias: &'static str,
    /// One-line meaning, English.
    pub en: &'static str,
    /// One-line meaning, Chinese.
    pub zh: &'static str,
}

macro_rules! codes {
    ($( $code:literal $name:literal $alias:literal $en:literal $zh:literal ;)*) => {
        &[ $( Entry { code: $code, name: $name, alias: $alias, en: $en, zh: $zh } ),* ]
    };
}

pub(super) static CODES: &[Entry] = codes! {
    // --- generic COM / HRESULT -------------------------------------------------------------
    0x80004001 "E_NOTIMPL" "" "Not implemented." "功能未实现。";
    0x80004004 "E_ABORT" "" "The operation was aborted." "操作被中止。";
    0x80004005 "E_FAIL" "" "Unspecified failure (often a meaningless GetLastError value in CBS logs)." "未指定的错误（在 CBS 日志中常为无意义的 GetLastError 值）。";
    0x8000ffff "E_UNEXPECTED" "" "Catastrophic or unexpected failure." "意外的严重错误。";
    0x80070005 "E_ACCESSDENIED" "ERROR_ACCESS_DENIED" "Access is denied (ACLs on WinSxS, SoftwareDistribution or the CBS registry key, or antivirus)." "拒绝访问（WinSxS、SoftwareDistribution 或 CBS 注册表项权限异常，或被杀毒软件拦截）。";
    0x8007000e "E_OUTOFMEMORY" "ERROR_OUTOFMEMORY" "Not enough memory to complete the operation." "内存不足，无法完成操作。";
    0x80070057 "E_INVALIDARG" "ERROR_INVALID_PARAMETER" "An argument is invalid." "参数无效。";
    0x80004002 "E_NOINTERFACE" "" "No such interface supported." "不支持此接口。";
    0x80010108 "RPC_E_DISCONNECTED" "" "The object invoked has disconnected from its clients." "调用的对象已与其客户端断开连接。";
    // --- Win32 errors (HRESULT_FROM_WIN32) ------------------------------------------------
    0x80070001 "ERROR_INVALID_FUNCTION" "" "Incorrect function." "函数不正确。";
    0x80070002 "ERROR_FILE_NOT_FOUND" "" "The system cannot find the file specified." "系统找不到指定的文件。";
    0x80070003 "ERROR_PATH_NOT_FOUND" "" "The system cannot find the path specified." "系统找不到指定的路径。";
    0x8007000d "ERROR_INVALID_DATA" "" "The data is invalid (corrupt catalog, manifest or driver data)." "数据无效（目录、清单或驱动数据损坏）。";
    0x8007001f "ERROR_GEN_FAILURE" "" "A device attached to the system is not functioning." "连接到系统的设备无法正常工作。";
    0x80070020 "ERROR_SHARING_VIOLATION" "" "The file is in use by another process (often a filter driver or antivirus)." "文件正被其他进程占用（常见于过滤驱动或杀毒软件）。";
    0x80070070 "ERROR_DISK_FULL" "" "There is not enough space on the disk." "磁盘空间不足。";
    0x8007007e "ERROR_MOD_NOT_FOUND" "" "The specified module could not be found." "找不到指定的模块。";
    0x8007041d "ERROR_SERVICE_REQUEST_TIMEOUT" "" "The service did not respond to the start or control request in time." "服务没有及时响应启动或控制请求。";
    0x80070422 "ERROR_SERVICE_DISABLED" "" "The service cannot be started because it is disabled (Win32 1058)." "服务已被禁用，无法启动（Win32 1058）。";
    0x80070424 "ERROR_SERVICE_DOES_NOT_EXIST" "" "The specified service does not exist as an installed service." "指定的服务未安装（不存在）。";
    0x8007042c "ERROR_SERVICE_DEPENDENCY_FAIL" "" "A service this service depends on failed to start." "服务所依赖的服务启动失败。";
    0x8007045b "ERROR_SHUTDOWN_IN_PROGRESS" "" "A system shutdown is in progress (a restart interrupted servicing)." "系统正在关机（重启打断了更新处理）。";
    0x80070490 "ERROR_NOT_FOUND" "" "Element not found (e.g. missing driver operation data)." "找不到元素（例如缺少驱动操作数据）。";
    0x800704c7 "ERROR_CANCELLED" "" "The operation was cancelled by the user." "操作已被用户取消。";
    0x80070570 "ERROR_FILE_CORRUPT" "" "The file or directory is corrupted and unreadable." "文件或目录已损坏，无法读取。";
    0x800705b4 "ERROR_TIMEOUT" "" "This operation returned because the timeout period expired." "操作超时。";
    0x800705b9 "ERROR_XML_PARSE_ERROR" "" "Unable to read from or write to the XML data (corrupt package metadata)." "无法读写 XML 数据（包元数据损坏）。";
    0x80070643 "ERROR_INSTALL_FAILURE" "" "Fatal error during installation (e.g. WinRE partition too small for the update)." "安装过程中发生严重错误（例如 WinRE 分区空间不足）。";
    0x800706ba "RPC_S_SERVER_UNAVAILABLE" "" "The RPC server is unavailable." "RPC 服务器不可用。";
    0x800706be "RPC_S_CALL_FAILED" "" "The remote procedure call failed (often a corrupt package state in the registry)." "远程过程调用失败（常因注册表中的包状态损坏）。";
    0x800706d9 "EPT_S_NOT_REGISTERED" "" "No endpoints are available from the endpoint mapper: the service the installer needs is not running (Win32 1753)." "端点映射器中没有可用的端点：安装程序依赖的服务未运行（Win32 1753）。";
    0x80070bc2 "ERROR_SUCCESS_REBOOT_REQUIRED" "" "The operation succeeded; a restart is required to complete it (informational)." "操作成功，需要重启才能完成（提示信息）。";
    0x80070bc9 "ERROR_FAIL_REBOOT_REQUIRED" "" "The operation failed; a restart is required first (a pending transaction blocks servicing)." "操作失败，需先重启（有挂起的事务阻塞更新）。";
    0x800719e4 "ERROR_LOG_FULL" "" "The transaction log is full (TxR registry transaction logs under System32\\Config\\TxR)." "事务日志已满（System32\\Config\\TxR 下的注册表事务日志）。";
    0x80071a91 "ERROR_RM_NOT_ACTIVE" "" "Transaction support within the resource manager is not started or was shut down due to an error (TxF/KTM)." "资源管理器的事务支持未启动或因错误已关闭（TxF/KTM）。";
    0x80071a92 "ERROR_RM_METADATA_CORRUPT" "" "The metadata of the transactional resource manager is corrupt." "事务资源管理器的元数据已损坏。";
    0x80071aa1 "ERROR_LOG_CORRUPTION_DETECTED" "" "Corruption was detected in the transactional resource manager's log." "检测到事务资源管理器日志已损坏。";
    0x80071aae "ERROR_TXF_ATTRIBUTE_CORRUPT" "" "The transactional metadata attribute on the file or directory is corrupt." "文件或目录上的事务元数据属性已损坏。";
    0x80071ab1 "ERROR_LOG_GROWTH_FAILED" "" "An attempt to create space in the transactional resource manager's log failed (TxF log corrupt or full)." "尝试在事务资源管理器日志中分配空间失败（TxF 日志损坏或已满）。";
    0x800736b3 "ERROR_SXS_ASSEMBLY_NOT_FOUND" "" "The referenced assembly is not installed on the system." "引用的程序集未安装在系统中。";
    0x800736cc "ERROR_SXS_FILE_HASH_MISMATCH" "" "A component file does not match the hash in its manifest (store corruption)." "组件文件与清单中的哈希不匹配（组件存储损坏）。";
    0x80073701 "ERROR_SXS_ASSEMBLY_MISSING" "" "The referenced assembly could not be found (component store corruption)." "找不到引用的程序集（组件存储损坏）。";
    0x80073712 "ERROR_SXS_COMPONENT_STORE_CORRUPT" "" "The component store is in an inconsistent state." "组件存储处于不一致状态（已损坏）。";
    0x80073713 "ERROR_ADVANCED_INSTALLER_FAILED" "" "An advanced installer failed during setup or servicing." "高级安装程序在安装或更新过程中失败。";
    0x8007371b "ERROR_SXS_TRANSACTION_CLOSURE_INCOMPLETE" "" "One or more required members of the transaction are not present (store corruption)." "事务缺少一个或多个必需成员（组件存储损坏）。";
    0x80073d02 "ERROR_PACKAGES_IN_USE" "" "The app package could not be installed because resources it modifies are in use." "应用包修改的资源正在使用中，无法安装。";
    0x80070302 "ERROR_CANTFETCHBACKWARDS" "" "Win32 770; in servicing logs a sign that delta hydration failed because WinSxS files were modified (hard-linked system files patched)." "Win32 770；在更新日志中通常表示增量还原失败，因为 WinSxS 文件被修改（硬链接的系统文件被改动）。";
    0x80070006 "E_HANDLE" "ERROR_INVALID_HANDLE" "The handle is invalid." "句柄无效。";
    0x80070015 "ERROR_NOT_READY" "" "The device is not ready." "设备未就绪。";
    0x80070017 "ERROR_CRC" "" "Data error (cyclic redundancy check): the disk or file is damaged." "数据错误（循环冗余检查）：磁盘或文件已损坏。";
    0x800700b7 "ERROR_ALREADY_EXISTS" "" "Cannot create a file when that file already exists." "文件已存在，无法创建。";
    0x8007041b "ERROR_DEPENDENT_SERVICES_RUNNING" "" "A stop control was sent to a service other running services depend on." "有其他正在运行的服务依赖此服务，无法停止。";
    0x80070420 "ERROR_SERVICE_ALREADY_RUNNING" "" "An instance of the service is already running." "该服务已在运行。";
    0x80070426 "ERROR_SERVICE_NOT_ACTIVE" "" "The service has not been started." "服务尚未启动。";
    0x80070430 "ERROR_SERVICE_MARKED_FOR_DELETE" "" "The specified service has been marked for deletion." "指定的服务已标记为删除。";
    0x8007045a "ERROR_DLL_INIT_FAILED" "" "A dynamic link library (DLL) initialization routine failed." "动态链接库（DLL）初始化例程失败。";
    0x8007054f "ERROR_INTERNAL_ERROR" "" "An internal error occurred." "发生内部错误。";
    0x800705aa "ERROR_NO_SYSTEM_RESOURCES" "" "Insufficient system resources exist to complete the requested service." "系统资源不足，无法完成请求的服务。";
    0x80070652 "ERROR_INSTALL_ALREADY_RUNNING" "" "Another installation is already in progress." "另一个安装正在进行中。";
    0x8007139f "ERROR_INVALID_STATE" "" "The group or resource is not in the correct state to perform the requested operation." "组或资源的状态不正确，无法执行请求的操作。";
    0x80071a90 "ERROR_TRANSACTIONAL_CONFLICT" "" "The function attempted to use a name reserved for use by another transaction (TxF)." "该操作尝试使用为另一个事务保留的名称（TxF）。";
    0x80073cf9 "ERROR_INSTALL_FAILED" "" "The app package installation failed." "应用包安装失败。";
    // --- WinHTTP ---------------------------------------------------------------------------
    0x80072ee2 "ERROR_WINHTTP_TIMEOUT" "" "The connection to the update server timed out." "连接更新服务器超时。";
    0x80072ee7 "ERROR_WINHTTP_NAME_NOT_RESOLVED" "" "The server name could not be resolved." "无法解析服务器名称。";
    0x80072efd "ERROR_WINHTTP_CANNOT_CONNECT" "" "A connection to the server could not be established." "无法与服务器建立连接。";
    0x80072efe "ERROR_WINHTTP_CONNECTION_ERROR" "" "The connection to the server was reset or terminated abnormally (proxy, firewall)." "与服务器的连接被重置或异常终止（代理、防火墙）。";
    0x80072f8f "ERROR_WINHTTP_SECURE_FAILURE" "" "A TLS/certificate error occurred (clock, root certificates or TLS 1.2 settings)." "TLS/证书错误（系统时间、根证书或 TLS 1.2 设置）。";
    // --- SPAPI / WMI -----------------------------------------------------------------------
    0x800f0207 "SPAPI_E_DEVINST_ALREADY_EXISTS" "" "The device instance cannot be created because it already exists (stale device registry)." "设备实例已存在，无法创建（设备注册表残留）。";
    0x8004402f "WBEMMOF_E_ERROR_CREATING_TEMP_FILE" "" "The MOF compiler could not create its temporary file (WMI/MOF installer)." "MOF 编译器无法创建临时文件（WMI/MOF 安装程序）。";
    // --- NTSTATUS --------------------------------------------------------------------------
    0xc015001a "STATUS_SXS_COMPONENT_STORE_CORRUPT" "" "The component store is corrupt (NTSTATUS form)." "组件存储已损坏（NTSTATUS）。";
    0xc01a001d "STATUS_LOG_FULL" "" "The log is full: the CLFS/TxR transaction log has no space left at boot." "日志已满：启动时 CLFS/TxR 事务日志没有剩余空间。";
    // --- MOSETUP_E (Windows Setup) --------------------------------------------------------
    0xc1900101 "MOSETUP_E_SETUP_PLATFORM" "" "Setup platform error; the upgrade rolled back (usually an incompatible driver)." "安装平台错误，升级已回滚（通常是驱动不兼容）。";
    0xc1900104 "MOSETUP_E_PROCESS_TIMEOUT" "" "Setup did not finish in time; often reported with \"We couldn't update the system reserved partition\"." "安装未在规定时间内完成；常伴随“无法更新系统保留分区”。";
    // --- CBS_E -----------------------------------------------------------------------------
    0x800f0800 "CBS_E_INTERNAL_ERROR" "" "Internal servicing stack error." "更新服务堆栈内部错误。";
    0x800f0801 "CBS_E_NOT_INITIALIZED" "" "The servicing session is not initialized." "更新会话未初始化。";
    0x800f0802 "CBS_E_ALREADY_INITIALIZED" "" "The servicing session is already initialized." "更新会话已初始化。";
    0x800f0803 "CBS_E_INVALID_PARAMETER" "" "Invalid parameter passed to the servicing stack." "传递给更新服务堆栈的参数无效。";
    0x800f0804 "CBS_E_OPEN_FAILED" "" "The package or image could not be opened." "无法打开包或映像。";
    0x800f0805 "CBS_E_INVALID_PACKAGE" "" "The package is invalid or corrupt." "更新包无效或已损坏。";
    0x800f0806 "CBS_E_PENDING" "" "A pending operation blocks the request; restart to finish it." "存在挂起的操作，需重启完成。";
    0x800f0807 "CBS_E_NOT_INSTALLABLE" "" "The package cannot be installed." "该包无法安装。";
    0x800f0808 "CBS_E_IMAGE_NOT_ACCESSIBLE" "" "The image cannot be accessed." "无法访问映像。";
    0x800f0809 "CBS_E_ARRAY_ELEMENT_MISSING" "" "An expected array element is missing." "缺少预期的数组元素。";
    0x800f080a "CBS_E_REESTABLISH_SESSION" "" "The servicing session must be re-established." "需要重新建立更新会话。";
    0x800f080b "CBS_E_PROPERTY_NOT_AVAILABLE" "" "The requested property is not available." "请求的属性不可用。";
    0x800f080c "CBS_E_UNKNOWN_UPDATE" "" "The update name is not known in the package." "包中没有该更新名称。";
    0x800f080d "CBS_E_MANIFEST_INVALID_ITEM" "" "A manifest item is invalid (benign on Windows 7 logs)." "清单项无效（在 Windows 7 日志中通常无害）。";
    0x800f080e "CBS_E_MANIFEST_VALIDATION_DUPLICATE_ATTRIBUTES" "" "Manifest validation failed: duplicate attributes." "清单验证失败：属性重复。";
    0x800f080f "CBS_E_MANIFEST_VALIDATION_DUPLICATE_ELEMENT" "" "Manifest validation failed: duplicate element." "清单验证失败：元素重复。";
    0x800f0810 "CBS_E_MANIFEST_VALIDATION_MISSING_REQUIRED_ATTRIBUTES" "" "Manifest validation failed: required attributes are missing." "清单验证失败：缺少必需属性。";
    0x800f0811 "CBS_E_MANIFEST_VALIDATION_MISSING_REQUIRED_ELEMENTS" "" "Manifest validation failed: required elements are missing." "清单验证失败：缺少必需元素。";
    0x800f0812 "CBS_E_MANIFEST_VALIDATION_UPDATES_PARENT_MISSING" "" "Manifest validation failed: the parent of an update is missing." "清单验证失败：更新的父项缺失。";
    0x800f0813 "CBS_E_INVALID_INSTALL_STATE" "" "The package is in an invalid install state." "包处于无效的安装状态。";
    0x800f0814 "CBS_E_INVALID_CONFIG_VALUE" "" "An invalid configuration value was found." "配置值无效。";
    0x800f0815 "CBS_E_INVALID_CARDINALITY" "" "Invalid cardinality in the package definition." "包定义中的基数无效。";
    0x800f0816 "CBS_E_DPX_JOB_STATE_SAVED" "" "The package expander (DPX) job state was saved; extraction must resume." "包解压（DPX）作业状态已保存，需要继续解压。";
    0x800f0817 "CBS_E_PACKAGE_DELETED" "" "The package was deleted." "包已被删除。";
    0x800f0818 "CBS_E_IDENTITY_MISMATCH" "" "The package identity does not match." "包标识不匹配。";
    0x800f0819 "CBS_E_DUPLICATE_UPDATENAME" "" "Duplicate update name in the package." "包中的更新名称重复。";
    0x800f081a "CBS_E_INVALID_DRIVER_OPERATION_KEY" "" "The driver operations registry key is invalid." "驱动操作注册表项无效。";
    0x800f081b "CBS_E_UNEXPECTED_PROCESSOR_ARCHITECTURE" "" "The package is for a different processor architecture." "包的处理器架构不匹配。";
    0x800f081c "CBS_E_EXCESSIVE_EVALUATION" "" "Applicability evaluation exceeded its limit." "适用性评估超出限制。";
    0x800f081d "CBS_E_CYCLE_EVALUATION" "" "A cycle was detected during applicability evaluation." "适用性评估中检测到循环依赖。";
    0x800f081e "CBS_E_NOT_APPLICABLE" "" "The package is not applicable to this image (wrong build or missing prerequisite)." "该包不适用于此系统（版本不符或缺少前置更新）。";
    0x800f081f "CBS_E_SOURCE_MISSING" "" "The source files for the package or repair could not be found." "找不到包或修复所需的源文件。";
    0x800f0820 "CBS_E_CANCEL" "" "The operation was cancelled." "操作已取消。";
    0x800f0821 "CBS_E_ABORT" "" "The operation was aborted (e.g. by a timeout or hang watchdog)." "操作被中止（例如超时或挂起检测）。";
    0x800f0822 "CBS_E_ILLEGAL_COMPONENT_UPDATE" "" "Illegal component update." "非法的组件更新。";
    0x800f0823 "CBS_E_NEW_SERVICING_STACK_REQUIRED" "" "A newer servicing stack update (SSU) is required first." "需要先安装较新的服务堆栈更新（SSU）。";
    0x800f0824 "CBS_E_SOURCE_NOT_IN_LIST" "" "The source is not in the list of allowed sources." "源不在允许的源列表中。";
    0x800f0825 "CBS_E_CANNOT_UNINSTALL" "" "The package cannot be uninstalled." "该包无法卸载。";
    0x800f0826 "CBS_E_PENDING_VICTIM" "" "The package failed because another pending operation failed." "因其他挂起操作失败，该包失败。";
    0x800f0827 "CBS_E_STACK_SHUTDOWN_REQUIRED" "" "The servicing stack must shut down to continue." "需要关闭更新服务堆栈后才能继续。";
    0x800f0828 "CBS_E_INSUFFICIENT_DISK_SPACE" "" "Not enough disk space for the servicing operation." "磁盘空间不足，无法完成更新操作。";
    0x800f0829 "CBS_E_AC_POWER_REQUIRED" "" "AC power is required for this operation." "此操作需要接通交流电源。";
    0x800f082a "CBS_E_STACK_UPDATE_FAILED_REBOOT_REQUIRED" "" "The servicing stack update failed; a restart is required." "服务堆栈更新失败，需要重启。";
    0x800f082b "CBS_E_SQM_REPORT_IGNORED_AI_FAILURES_ON_TRANSACTION_RESOLVE" "" "Ignored advanced installer failures were reported while resolving the transaction." "事务解析时报告了被忽略的高级安装程序失败。";
    0x800f082c "CBS_E_DEPENDENT_FAILURE" "" "A dependent operation failed." "依赖的操作失败。";
    0x800f082d "CBS_E_PAC_INITIAL_FAILURE" "" "Package applicability check failed to initialise." "包适用性检查初始化失败。";
    0x800f082e "CBS_E_NOT_ALLOWED_OFFLINE" "" "The operation is not allowed on an offline image." "离线映像不允许该操作。";
    0x800f082f "CBS_E_EXCLUSIVE_WOULD_MERGE" "" "Exclusive packages would be merged." "独占包将被合并，操作被拒绝。";
    0x800f0830 "CBS_E_IMAGE_UNSERVICEABLE" "" "The image is no longer serviceable (corrupt or unsupported state)." "映像已无法维护（损坏或状态不受支持）。";
    0x800f0831 "CBS_E_STORE_CORRUPTION" "" "Component store corruption: a manifest of an earlier package is missing." "组件存储损坏：缺少早期更新包的清单。";
    0x800f0832 "CBS_E_STORE_TOO_MUCH_CORRUPTION" "" "The component store is too corrupt to repair." "组件存储损坏过于严重，无法修复。";
    0x800f0840 "CBS_E_SESSION_CORRUPT" "" "The servicing session is corrupt." "更新会话已损坏。";
    0x800f0841 "CBS_E_SESSION_INTERRUPTED" "" "The servicing session was interrupted." "更新会话被中断。";
    0x800f0842 "CBS_E_SESSION_FINALIZED" "" "The servicing session is already finalized." "更新会话已完成，不能再修改。";
    0x800f0843 "CBS_E_SESSION_READONLY" "" "The servicing session is read-only." "更新会话为只读。";
    0x800f084f "CBS_E_RESOLVE_FAILED" "" "Resolving the package failed." "包解析失败。";
    0x800f0900 "CBS_E_XML_PARSER_FAILURE" "" "An XML manifest or catalog could not be parsed (corrupt metadata)." "无法解析 XML 清单或目录（元数据损坏）。";
    0x800f0901 "CBS_E_MANIFEST_VALIDATION_MULTIPLE_UPDATE_COMPONENT_ON_SAME_FAMILY_NOT_ALLOWED" "" "Manifest validation failed: several update components of one family." "清单验证失败：同一系列存在多个更新组件。";
    0x800f0902 "CBS_E_BUSY" "" "The servicing stack is busy with another operation." "更新服务堆栈正忙于其他操作。";
    0x800f0903 "CBS_E_INVALID_RECALL" "" "Invalid recall of an update." "无效的更新撤回。";
    0x800f0904 "CBS_E_MORE_THAN_ONE_ACTIVE_EDITION" "" "More than one active edition was found." "发现多个激活的版本（Edition）。";
    0x800f0905 "CBS_E_NO_ACTIVE_EDITION" "" "No active edition was found." "没有找到激活的版本（Edition）。";
    0x800f0906 "CBS_E_DOWNLOAD_FAILURE" "" "Source files could not be downloaded (Windows Update unreachable or blocked)." "无法下载源文件（无法访问 Windows 更新或被阻止）。";
    0x800f0907 "CBS_E_GROUPPOLICY_DISALLOWED" "" "Group Policy does not allow downloading repair content from Windows Update." "组策略不允许从 Windows 更新下载修复内容。";
    0x800f0908 "CBS_E_METERED_NETWORK" "" "The download was blocked on a metered network." "按流量计费的网络阻止了下载。";
    0x800f0909 "CBS_E_PUBLIC_OBJECT_LEAK" "" "A servicing object was leaked." "更新服务对象泄漏。";
    0x800f090b "CBS_E_REPAIR_PACKAGE_CORRUPT" "" "The repair package is corrupt." "修复包已损坏。";
    0x800f090c "CBS_E_COMPONENT_NOT_INSTALLED_BY_CBS" "" "The component was not installed by the servicing stack." "该组件不是由更新服务堆栈安装的。";
    0x800f090d "CBS_E_MISSING_PACKAGE_MAPPING_INDEX" "" "The package mapping index is missing." "缺少包映射索引。";
    0x800f090e "CBS_E_EMPTY_PACKAGE_MAPPING_INDEX" "" "The package mapping index is empty." "包映射索引为空。";
    0x800f090f "CBS_E_WINDOWS_UPDATE_SEARCH_FAILURE" "" "Searching Windows Update for the source failed." "在 Windows 更新中搜索源文件失败。";
    0x800f0910 "CBS_E_WINDOWS_AUTOMATIC_UPDATE_SETTING_DISALLOWED" "" "The automatic update setting does not allow the download." "自动更新设置不允许下载。";
    0x800f0911 "CBS_E_SOURCE_MODIFIED" "" "The source was modified." "源已被修改。";
    0x800f0912 "CBS_E_ONDEMAND_LOCALSOURCE_NOT_FOUND" "" "The local source for a feature on demand was not found." "找不到按需功能的本地源。";
    0x800f0914 "CBS_E_WINRE_NOT_ENABLED" "" "Windows RE is not enabled." "Windows 恢复环境（WinRE）未启用。";
    0x800f0915 "CBS_E_REPAIR_CONTENT_MISSING" "" "Repair content is missing." "缺少修复内容。";
    0x800f0916 "CBS_E_PAYLOAD_FILE_MISSING" "" "A payload file is missing." "缺少负载文件。";
    0x800f0920 "CBS_E_HANG_DETECTED" "" "A hang was detected while processing the update at boot; the update was rolled back." "启动时处理更新检测到挂起，更新已回滚。";
    0x800f0921 "CBS_E_PRIMITIVES_FAILED" "" "Applying file or registry primitives failed." "应用文件或注册表原语失败。";
    0x800f0922 "CBS_E_INSTALLERS_FAILED" "" "An advanced installer failed while the update was applied at restart; the update was rolled back." "重启时应用更新的高级安装程序失败，更新已回滚。";
    0x800f0923 "CBS_E_SAFEMODE_ENTERED" "" "The servicing operation entered safe mode." "更新操作进入了安全模式。";
    0x800f0924 "CBS_E_SESSIONS_LEAKED" "" "Servicing sessions were leaked." "更新会话泄漏。";
    0x800f0925 "CBS_E_INVALID_EXECUTESTATE" "" "The execute state is invalid." "执行状态无效。";
    0x800f0926 "CBS_E_CANNOT_REMOVE_CONTAINER_DEPENDENCY" "" "A container dependency cannot be removed." "无法移除容器依赖项。";
    0x800f0927 "CBS_E_ONDEMAND_RESERVICING_REQUIRED" "" "The feature on demand must be reserviced." "按需功能需要重新维护。";
    0x800f0928 "CBS_E_ONLINE_ACTIONS_POSTPONED" "" "Online actions were postponed." "联机操作被推迟。";
    0x800f0940 "CBS_E_WUSUS_MAPPING_UNAVAILABLE" "" "The WSUS package mapping is unavailable." "WSUS 包映射不可用。";
    0x800f0941 "CBS_E_WU_MAPPING_UNAVAILABLE" "" "The Windows Update package mapping is unavailable." "Windows 更新包映射不可用。";
    0x800f0950 "CBS_E_INVALID_WINDOWS_UPDATE_COUNT" "" "Unexpected number of updates from Windows Update (feature source unavailable)." "Windows 更新返回的更新数量异常（功能源不可用）。";
    0x800f0954 "CBS_E_INVALID_WINDOWS_UPDATE_COUNT_WSUS" "" "Unexpected number of updates from WSUS (the feature source is not on the WSUS server)." "WSUS 返回的更新数量异常（WSUS 上没有该功能源）。";
    // --- PSFX_E (delta hydration) -----------------------------------------------------------
    0x800f0980 "PSFX_E_DELTA_NOT_SUPPORTED_FOR_COMPONENT" "" "Delta updates are not supported for this component." "该组件不支持增量更新。";
    0x800f0981 "PSFX_E_REVERSE_AND_FORWARD_DELTAS_MISSING" "" "Both the reverse and forward deltas are missing." "反向和正向增量均缺失。";
    0x800f0982 "PSFX_E_MATCHING_COMPONENT_NOT_FOUND" "" "The base component the delta applies to was not found (WinSxS trimmed or modified)." "找不到增量所对应的基础组件（WinSxS 被精简或修改）。";
    0x800f0983 "PSFX_E_MATCHING_COMPONENT_DIRECTORY_MISSING" "" "The base component's directory is missing in WinSxS." "WinSxS 中缺少基础组件目录。";
    0x800f0984 "PSFX_E_MATCHING_BINARY_MISSING" "" "The base binary the delta applies to is missing." "增量所对应的基础二进制文件缺失。";
    0x800f0985 "PSFX_E_APPLY_REVERSE_DELTA_FAILED" "" "Applying a reverse delta failed (base file modified or corrupt)." "应用反向增量失败（基础文件被修改或损坏）。";
    0x800f0986 "PSFX_E_APPLY_FORWARD_DELTA_FAILED" "" "Applying a forward delta failed." "应用正向增量失败。";
    0x800f0987 "PSFX_E_NULL_DELTA_HYDRATION_FAILED" "" "Hydrating a file from a null delta failed." "从空增量还原文件失败。";
    0x800f0988 "PSFX_E_INVALID_DELTA_COMBINATION" "" "Invalid combination of deltas (often after component cleanup /ResetBase)." "增量组合无效（常见于组件清理 /ResetBase 之后）。";
    0x800f0989 "PSFX_E_REVERSE_DELTA_MISSING" "" "The reverse delta is missing." "反向增量缺失。";
    0x800f0991 "PSFX_E_MISSING_PAYLOAD_FILE" "" "A payload file of the update is missing (store corruption or missing manifest)." "更新的负载文件缺失（组件存储损坏或清单缺失）。";
    // --- WU_E -------------------------------------------------------------------------------
    0x8024000b "WU_E_CALL_CANCELLED" "" "The Windows Update operation was cancelled." "Windows 更新操作已取消。";
    0x80240016 "WU_E_INSTALL_NOT_ALLOWED" "" "Installation is not allowed now (another installation or a reboot is pending)." "当前不允许安装（有其他安装进行中或需要重启）。";
    0x80240017 "WU_E_NOT_APPLICABLE" "" "The update is not applicable to this computer." "该更新不适用于此计算机。";
    0x8024001e "WU_E_SERVICE_STOP" "" "The operation did not complete because the service or system was shutting down." "服务或系统正在关闭，操作未完成。";
    0x80240022 "WU_E_ALL_UPDATES_FAILED" "" "The operation failed for all the updates." "所有更新的操作均失败。";
    0x8024002e "WU_E_WU_DISABLED" "" "Access to an unmanaged server is not allowed (Windows Update disabled by policy)." "不允许访问非托管服务器（Windows 更新被策略禁用）。";
    0x80240034 "WU_E_DOWNLOAD_FAILED" "" "The update failed to download." "更新下载失败。";
    0x80240fff "WU_E_UNEXPECTED" "" "Windows Update failed for an unexpected reason." "Windows 更新因意外原因失败。";
    0x80242006 "WU_E_UH_INVALIDMETADATA" "" "The update handler could not process the update's metadata." "更新处理程序无法处理更新的元数据。";
    0x8024200d "WU_E_UH_NEEDANOTHERDOWNLOAD" "" "The update needs another download (express/cache content incomplete)." "更新需要重新下载（快速更新或缓存内容不完整）。";
    0x80242014 "WU_E_UH_POSTREBOOTSTILLPENDING" "" "The post-reboot operation for the update is still in progress." "更新的重启后操作仍在进行中。";
    0x80242016 "WU_E_UH_POSTREBOOTUNEXPECTEDSTATE" "" "The state of the update after its post-reboot operation is unexpected." "更新在重启后操作完成后的状态异常。";
    0x80244007 "WU_E_PT_SOAPCLIENT_SOAPFAULT" "" "The server returned a SOAP fault." "服务器返回了 SOAP 错误。";
    0x80244010 "WU_E_PT_EXCEEDED_MAX_SERVER_TRIPS" "" "The number of round trips to the server exceeded the maximum." "与服务器的往返次数超过上限。";
    0x80244017 "WU_E_PT_HTTP_STATUS_DENIED" "" "HTTP 401: the server requires authentication." "HTTP 401：服务器要求身份验证。";
    0x80244018 "WU_E_PT_HTTP_STATUS_FORBIDDEN" "" "HTTP 403: the server refused the request (often a proxy)." "HTTP 403：服务器拒绝请求（常见于代理）。";
    0x80244019 "WU_E_PT_HTTP_STATUS_NOT_FOUND" "" "HTTP 404: the server cannot find the requested URL." "HTTP 404：服务器找不到请求的 URL。";
    0x8024401b "WU_E_PT_HTTP_STATUS_PROXY_AUTH_REQ" "" "HTTP 407: proxy authentication is required." "HTTP 407：需要代理身份验证。";
    0x8024401c "WU_E_PT_HTTP_STATUS_REQUEST_TIMEOUT" "" "HTTP 408: the server timed out waiting for the request (check the WSUS server)." "HTTP 408：服务器等待请求超时（检查 WSUS 服务器）。";
    0x80244022 "WU_E_PT_HTTP_STATUS_SERVICE_UNAVAIL" "" "HTTP 503: the service is temporarily unavailable (WSUS app pool overloaded or stopped)." "HTTP 503：服务暂时不可用（WSUS 应用程序池过载或已停止）。";
    0x8024402c "WU_E_PT_WINHTTP_NAME_NOT_RESOLVED" "" "The proxy or server name could not be resolved." "无法解析代理或服务器名称。";
    0x8024500c "WU_E_REDIRECTOR_CONNECT_POLICY" "" "Connections to the Windows Update redirector are blocked by policy." "策略阻止连接到 Windows 更新重定向服务器。";
    0x800b0004 "TRUST_E_SUBJECT_NOT_TRUSTED" "" "The signed file's publisher is not trusted for this action (its certificate is not in Trusted Publishers)." "签名文件的发布者不受信任，无法执行此操作（其证书不在“受信任的发布者”中）。";
    0x800b0100 "TRUST_E_NOSIGNATURE" "" "The file carries no signature, or its signature is invalid." "文件没有签名，或签名无效。";
    0x800b0101 "CERT_E_EXPIRED" "" "A required certificate is outside its validity period (expired)." "所需证书不在有效期内（已过期）。";
    0x800b0109 "CERT_E_UNTRUSTEDROOT" "" "The certificate chain ends in a root certificate that is not trusted." "证书链终止于不受信任的根证书。";
    0x800b010a "CERT_E_CHAINING" "" "The certificate chain could not be built to a trusted root." "无法将证书链构建到受信任的根证书。";
    0x800b010f "CERT_E_CN_NO_MATCH" "" "The certificate's name does not match the server name." "证书名称与服务器名称不匹配。";
    0x80246007 "WU_E_DM_NOTDOWNLOADED" "" "The update has not been downloaded." "更新尚未下载。";
    0x80240438 "WU_E_PT_ENDPOINT_UNREACHABLE" "" "There is no route or network connectivity to the update endpoint." "无法访问更新服务器终结点（无路由或网络连接）。";
    0x8024401f "WU_E_PT_HTTP_STATUS_SERVER_ERROR" "" "HTTP 500: the server had an internal error." "HTTP 500：服务器内部错误。";
    0x80246008 "WU_E_DM_FAILTOCONNECTTOBITS" "" "Windows Update could not connect to BITS (Background Intelligent Transfer Service)." "Windows 更新无法连接到后台智能传送服务（BITS）。";
    0x80248007 "WU_E_DS_NODATA" "" "The requested information is not in the Windows Update data store." "Windows 更新数据存储中没有所需信息。";
};
