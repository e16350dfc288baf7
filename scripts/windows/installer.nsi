; Rollcall's Windows installer, built on Linux with Debian's NSIS (makensis) by
; `scripts/windows.sh --installer`. Tauri's own NSIS step cannot run here (it downloads a plugin
; from GitHub), so this script does what an office needs from it with NSIS's stock plugins:
;
; - installs for the current user, without administrator rights, into
;   %LOCALAPPDATA%\Programs\Rollcall (the data stays apart, in %LOCALAPPDATA%\rollcall);
; - a Start-menu shortcut carrying Rollcall's AppUserModelID, the identifier Windows files
;   notifications under: without it an app's notifications do not show;
; - an uninstaller, listed in Settings > Apps, that keeps the data folder.
;
; Defined by windows.sh (-D): VERSION, ROLLCALL_EXE (the headless rollcall.exe), UI_DIR (the
; built web UI), ICON (src-tauri/icons/icon.ico), OUTFILE; optionally DESKTOP_EXE and
; WEBVIEW2_LOADER (the desktop app and the WebView2Loader.dll a MinGW build loads at start),
; which then become the shortcut's target.
;
; Under Wine the shortcut's AppUserModelID cannot be checked (Wine's IPropertyStore on shell
; links is a stub); on Windows, PowerShell's `Get-StartApps Rollcall` shows it as AppID.

Unicode true
; Rollcall is built for 64-bit Windows only, and so is its installer.
Target amd64-unicode
!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "Win\COM.nsh"
!include "Win\Propkey.nsh"

; The app's identifier in src-tauri/tauri.conf.json: the notification plugin sends toasts as it.
!define APP_ID "app.rollcall.desktop"
!define PRODUCT "Rollcall"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${PRODUCT}"

Name "${PRODUCT}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\${PRODUCT}"
InstallDirRegKey HKCU "Software\${PRODUCT}" "InstallDir"
RequestExecutionLevel user
SetCompressor /SOLID lzma

VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${PRODUCT}"
VIAddVersionKey "FileDescription" "${PRODUCT} installer"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "MIT licence"

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

!ifdef DESKTOP_EXE
  !define SHORTCUT_TARGET "$INSTDIR\rollcall-desktop.exe"
  !define SHORTCUT_ARGS ""
!else
  ; Without the desktop app, the shortcut runs the headless server in a console window, which
  ; prints the link to open in a browser; closing the window stops it cleanly.
  !define SHORTCUT_TARGET "$INSTDIR\rollcall.exe"
  !define SHORTCUT_ARGS "serve"
!endif

; Gives the shortcut `lnk` the AppUserModelID ${APP_ID}, through the shell's own COM objects
; (IShellLink loaded by IPersistFile, then its IPropertyStore): NSIS's CreateShortcut cannot.
!macro SetShortcutAppId lnk
  !insertmacro ComHlpr_CreateInProcInstance ${CLSID_ShellLink} ${IID_IShellLink} r0 ""
  ${If} $0 P<> 0
    ${IUnknown::QueryInterface} $0 '("${IID_IPersistFile}",.r1)'
    ${If} $1 P<> 0
      ${IPersistFile::Load} $1 '("${lnk}",${STGM_READWRITE})'
      ${IUnknown::QueryInterface} $0 '("${IID_IPropertyStore}",.r2)'
      ${If} $2 P<> 0
        ; The System.AppUserModel.ID key, and a PROPVARIANT of type VT_LPWSTR pointing at the
        ; id (the store copies it); the pointer is pointer-sized, this being a 64-bit installer.
        System::Call 'Oleaut32::SysAllocString(w "${APP_ID}") p.r3'
        System::Call '*${SYSSTRUCT_PROPERTYKEY}(${PKEY_AppUserModel_ID}) p.r4'
        System::Call '*(&i2 ${VT_LPWSTR}, &i6 0, p r3, &i8 0) p.r5'
        ${IPropertyStore::SetValue} $2 '($4,$5)'
        ${IPropertyStore::Commit} $2 ""
        System::Call 'Oleaut32::SysFreeString(p r3)'
        System::Free $4
        System::Free $5
        ${IUnknown::Release} $2 ""
        ${IPersistFile::Save} $1 '("${lnk}",1)'
      ${EndIf}
      ${IUnknown::Release} $1 ""
    ${EndIf}
    ${IUnknown::Release} $0 ""
  ${EndIf}
!macroend

Section "Rollcall"
  SetOutPath "$INSTDIR"
  File "/oname=rollcall.exe" "${ROLLCALL_EXE}"
  !ifdef DESKTOP_EXE
    File "/oname=rollcall-desktop.exe" "${DESKTOP_EXE}"
    File "/oname=WebView2Loader.dll" "${WEBVIEW2_LOADER}"
  !endif
  ; The web UI beside the programs, where both look for it first.
  SetOutPath "$INSTDIR\ui"
  File /r "${UI_DIR}\*.*"
  SetOutPath "$INSTDIR"

  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKCU "Software\${PRODUCT}" "InstallDir" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "${PRODUCT}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\rollcall.exe"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1

  CreateShortcut "$SMPROGRAMS\${PRODUCT}.lnk" "${SHORTCUT_TARGET}" "${SHORTCUT_ARGS}" \
    "${SHORTCUT_TARGET}" 0
  !insertmacro SetShortcutAppId "$SMPROGRAMS\${PRODUCT}.lnk"
SectionEnd

Section "Uninstall"
  Delete "$SMPROGRAMS\${PRODUCT}.lnk"
  ; "Start at login" (the desktop app's tray menu) is a value under Run named after the app.
  DeleteRegValue HKCU "Software\Microsoft\Windows\CurrentVersion\Run" "${PRODUCT}"
  Delete "$INSTDIR\rollcall.exe"
  Delete "$INSTDIR\rollcall-desktop.exe"
  Delete "$INSTDIR\WebView2Loader.dll"
  RMDir /r "$INSTDIR\ui"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
  DeleteRegKey HKCU "Software\${PRODUCT}"
  ; The attendance data in %LOCALAPPDATA%\rollcall stays: it is the school's record.
SectionEnd
