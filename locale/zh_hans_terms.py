"""Chinese for the English message ids, applied to locale/zh_Hans by `make messages`.

Kept as a table so that a re-run of makemessages never loses a translation: edit here, run
`make messages`, commit the .po and .mo. Plural entries map to one string (Chinese has one
form).
"""

ZH = {
    "Role and jurisdiction": "角色与辖区",
    "Accounts": "账户",
    "District": "区县",
    "Sub-district": "街道",
    "Community": "社区",
    "Compound": "小区",
    "District staff": "区级工作人员",
    "Sub-district staff": "街道工作人员",
    "Community secretary": "社区书记",
    "Volunteer": "志愿者",
    "Medical staff": "医护人员",
    "role": "角色",
    "jurisdiction": "辖区",
    "Id of the district, sub-district, community or compound the role covers.": (
        "该角色负责的区县、街道、社区或小区的编号。"
    ),
    "phone": "电话",
    "user": "用户",
    "users": "用户",
    "Places and compounds": "辖区与小区",
    "New status": "新的管控状态",
    "Choose the new status.": "请选择新的管控状态。",
    "This compound cannot move to that status from where it is.": (
        "该小区目前的状态不能直接调整为所选状态。"
    ),
    "Reason": "调整原因",
    "For example: two positive cases found in building 3 in round 5.": (
        "例如：第5轮核酸检测在3号楼发现2例阳性。"
    ),
    "Give a reason for the change.": "请填写调整原因。",
    "The reason is too long: at most %(limit_value)d characters.": (
        "调整原因太长，最多%(limit_value)d个字。"
    ),
    "Normal": "常态",
    "Precautionary area": "防范区",
    "Controlled area": "管控区",
    "Sealed area": "封控区",
    "code": "编码",
    "name": "名称",
    "district": "区县",
    "districts": "区县",
    "sub-district": "街道",
    "sub-districts": "街道",
    "community": "社区",
    "communities": "社区",
    "address": "地址",
    "control status": "管控状态",
    "status changed at": "状态调整时间",
    "last positive case on": "最近阳性日期",
    "compound": "小区",
    "compounds": "小区",
    "building number": "楼号",
    "units": "单元数",
    "floors": "层数",
    "building": "楼栋",
    "buildings": "楼栋",
    "Building %(number)s": "%(number)s号楼",
    "from": "原状态",
    "to": "新状态",
    "reason": "原因",
    "changed by": "调整人",
    "changed at": "调整时间",
    "status change": "状态调整记录",
    "status changes": "状态调整记录",
    "Your role may not change the control status of a compound.": "您的角色无权调整小区管控状态。",
    "Choose one of the listed control statuses.": "请从列出的管控状态中选择。",
    "The reason is too long: at most %(max)d characters.": "调整原因太长，最多%(max)d个字。",
    "Someone changed this compound to “%(current)s” while you were filling in the form. "
    "Check the latest status and try again.": (
        "在您填写表单期间，有人已将该小区调整为“%(current)s”。请查看最新状态后再操作。"
    ),
    "The compound is already “%(status)s”.": "该小区已经是“%(status)s”。",
    "A compound cannot go from “%(current)s” straight to “%(target)s”: "
    "step down one level at a time.": (
        "小区不能从“%(current)s”直接调整为“%(target)s”，降级须逐级进行。"
    ),
    "The last positive case was on %(date)s, %(days)d days ago. A sealed or controlled "
    "compound steps down only after %(quiet)d days without a new positive case.": (
        "最近一例阳性在%(date)s，距今%(days)d天。封控区、管控区须连续%(quiet)d天"
        "无新增阳性才能降级。"
    ),
    "%(name)s is now “%(status)s”.": "%(name)s 已调整为“%(status)s”。",
    "Dashboards": "数据看板",
    "An ID number must have 18 characters (15 digits for old IDs).": (
        "身份证号应为18位（旧证15位）。"
    ),
    "An ID number may contain only digits, with an X allowed as the last character.": (
        "身份证号只能由数字组成，最后一位可以是X。"
    ),
    "The birth date inside the ID number is not a valid date.": "身份证号中的出生日期无效。",
    "The ID number's check digit is wrong.": "身份证号校验位错误。",
    "The ID number was stored as a number in Excel and lost digits. Format the column as "
    "text and enter the number again.": (
        "身份证号在Excel中被存成了数字，已丢失末几位。请把该列设为文本格式后重新录入。"
    ),
    "The ID number is empty.": "身份证号为空。",
    "This is not a valid phone number.": "电话号码格式不正确。",
    "A mobile number has 11 digits.": "手机号应为11位。",
    "A mobile number must start with 13 to 19.": "手机号应以13至19开头。",
    "A landline number must start with its area code, e.g. 0931-8123456.": (
        "固定电话须带区号，例如0931-8123456。"
    ),
    "A landline number has 7 or 8 digits after the area code.": "固定电话区号后应为7或8位。",
    "Only mainland China phone numbers are supported.": "仅支持中国大陆电话号码。",
    "Enter a valid date, e.g. 2024-03-05.": "请填写有效日期，例如2024-03-05。",
    "Gender must be male or female.": "性别应为男或女。",
    "Could not understand the room address; write it like 3-2-501.": (
        "无法识别房号，请写成3-2-501或3号楼2单元501的形式。"
    ),
    "Wuyi": "无疫",
    "Wuyi compound management": "无疫小区管理",
    "epidemic-free compounds": "无疫小区创建",
    "Compounds": "小区",
    "Overview": "总览",
    "Admin": "后台管理",
    "Log out": "退出",
    "%(counter)s compound": "共%(counter)s个小区",
    "%(days)s days since last positive": "距最近阳性%(days)s天",
    "No positive case": "无阳性病例",
    "No compound matches.": "没有符合条件的小区。",
    "Previous": "上一页",
    "Page %(n)s of %(total)s": "第%(n)s页，共%(total)s页",
    "Next": "下一页",
    "Code": "编码",
    "Address": "地址",
    "Last positive case": "最近阳性",
    "%(days)s day ago": "%(days)s天前",
    "None recorded": "无记录",
    "Status since": "当前状态始于",
    "Change status": "调整管控状态",
    "Buildings": "楼栋",
    "%(units)s units · %(floors)s floors": "%(units)s个单元 · %(floors)s层",
    "No buildings recorded.": "尚未录入楼栋。",
    "Status history": "管控状态记录",
    "No status change recorded yet.": "暂无状态调整记录。",
    "Search name, code or address": "搜索名称、编码或地址",
    "Search": "搜索",
    "Control status": "管控状态",
    "All statuses": "全部状态",
    "Filter": "筛选",
    "Now": "当前",
    "last positive case %(date)s": "最近阳性 %(date)s",
    "Save the change": "保存调整",
    "Cancel": "取消",
    "All districts": "全部区县",
    "Total": "合计",
    "No compounds here.": "这里没有小区。",
    "Account locked": "账户已锁定",
    "Too many failed logins. This account is locked for one hour from this address. "
    "Ask your administrator if you need access sooner.": (
        "登录失败次数过多，该账户在此地址已被锁定一小时。如需尽快使用，请联系管理员。"
    ),
    "Log in": "登录",
    "The user name or password is wrong. Several failed attempts lock the account for an "
    "hour.": "用户名或密码错误。多次失败后账户将被锁定一小时。",
    "User name": "用户名",
    "Password": "密码",
    "Password changed": "密码已修改",
    "Change password": "修改密码",
    "Simplified Chinese": "简体中文",
    "English": "英文",
    "Wuyi administration": "无疫 后台管理",
}
